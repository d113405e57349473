package server_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/sheet/sheettest"
	"certseal/inventory"
)

// TestMovementExportNamesTheCertificate issues a certificate on a blank form and exports the
// movements through the API: the use row's 证照编号 is the certificate's licence number (not its
// internal id), its organisations and 经办人 are names, and the XLSX prints one page wide.
func TestMovementExportNamesTheCertificate(t *testing.T) {
	e := testenv.Start(t)
	c := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, e, "lizhou-clerk"), "SC00000001"))
	var me struct {
		User struct{ Name string } `json:"user"`
		Org  struct{ Name string } `json:"org"`
	}
	e.Must(200, "GET", "/api/v1/me", "lizhou-clerk", nil).Decode(t, &me)
	if me.User.Name == "" || me.Org.Name == "" {
		t.Fatalf("/me: %+v", me)
	}
	path := "/api/v1/inventory/movements?type_code=" + demo.TypeFood
	var page struct{ Items []inventory.Movement }
	e.Must(200, "GET", path, "lizhou-officer", nil).Decode(t, &page)
	if len(page.Items) == 0 || page.Items[0].Kind != inventory.KindUse || page.Items[0].LicenceNumber != c.LicenceNumber {
		t.Fatalf("the newest movement: %+v, want the use for %s", page.Items, c.LicenceNumber)
	}
	raw := e.Must(200, "GET", path+"&format=csv", "lizhou-officer", nil).Body
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) < 2 || !slices.Equal(rows[0], inventory.MovementHeaders) {
		t.Fatalf("movements CSV: %q, %v", rows, err)
	}
	col := func(name string) string { return rows[1][sheettest.Column(t, rows, name)] }
	if col("变动类型") != inventory.KindUse.Label() || col("证照编号") != c.LicenceNumber || col("证照编号") == c.ID {
		t.Errorf("the use row: %q; want 证照编号 %s (the certificate's id is %s)", rows[1], c.LicenceNumber, c.ID)
	}
	if col("发出机构") != me.Org.Name || col("接收机构") != me.Org.Name || col("经办人") != me.User.Name {
		t.Errorf("the use row names %q / %q / %q, want %q and %q", col("发出机构"), col("接收机构"), col("经办人"), me.Org.Name, me.User.Name)
	}
	sheettest.CheckLayout(t, e.Must(200, "GET", path+"&format=xlsx", "lizhou-officer", nil).Body)
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
	"certseal/seals"
)

// TestESealVerifyOFD: `certseal eseal verify` checks an issued OFD certificate (the demo food
// licence is pdf+ofd): valid, with its seal and certificate; a changed byte of a file inside
// the package is modified, naming the file.
func TestESealVerifyOFD(t *testing.T) {
	data := t.TempDir()
	a, err := app.Open(app.Config{Data: data, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.LoadDemo()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	ctx := context.Background()
	clerk := certseal.Actor{UserID: "c", Username: "lizhou-clerk", OrgID: res.Orgs["广元市利州区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk}
	list, _, err := a.Seals.List(ctx, seals.SealFilter{OrgID: clerk.OrgID}, "", 10)
	if err != nil || len(list) == 0 {
		a.Close()
		t.Fatalf("seals: %v", err)
	}
	c, _, err := a.Certs.Issue(ctx, clerk, testenv.IssueRequest(fixtures.FoodRecords(t)[0], list[0].ID, "SC00000001"), "")
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	pkg, _, err := a.Certs.OFD(ctx, clerk, c.ID)
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "c.ofd")
	os.WriteFile(good, pkg, 0o600)
	// a changed byte inside Doc_0/Pages/Page_0/Content.xml (stored or deflated, the package
	// no longer matches its References)
	i := bytes.Index(pkg, []byte("Doc_0/Pages/Page_0/Content.xml"))
	bad := bytes.Clone(pkg)
	bad[i+200] ^= 0x01
	badFile := filepath.Join(dir, "bad.ofd")
	os.WriteFile(badFile, bad, 0o600)
	for _, tc := range []struct {
		name string
		file string
		code int
		want []string
	}{
		{"the issued OFD", good, 0, []string{"OFD 电子证照：有效（valid）", c.Identifier, c.OFDSealID}},
		{"a changed byte", badFile, 1, []string{"文件已被改动（modified）"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(ctx, []string{"eseal", "verify", "-data", data, tc.file}, &out, &errb)
			for _, w := range tc.want {
				if code != tc.code || !strings.Contains(out.String()+errb.String(), w) {
					t.Errorf("exit %d, want %d; output:\n%s%s\nwant %q", code, tc.code, out.String(), errb.String(), w)
				}
			}
		})
	}
}

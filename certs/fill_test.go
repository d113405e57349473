package certs_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/templates"
)

// fillRequest is the request a clerk makes for a sample record: the holder, the record's values
// without the fields the service fills in itself (issuer, issue date, validity) and without the
// licence number, and the record's end of validity.
func fillRequest(f fixtures.Food, sealID, serial string) certs.IssueRequest {
	values := map[string]string{}
	for k, v := range f.Fields {
		if k != "许可证编号" && !slices.Contains(certs.SystemFields(), k) {
			values[k] = v
		}
	}
	to, _ := time.Parse("2006年1月2日", f.Fields["有效期至"])
	return certs.IssueRequest{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: sealID, Serial: serial,
		Holder: certs.Holder{Name: f.Fields["经营者名称"], Code: f.Fields["统一社会信用代码"], CodeType: certs.CodeUSCC},
		Values: values, ValidTo: to.Format(certs.DateLayout)}
}

// fillEnv is a running service with the clerk of 利州区 and the id of the bureau's seal.
func fillEnv(t *testing.T) (*testenv.Env, certseal.Actor, string) {
	t.Helper()
	e := testenv.Start(t)
	var userID string
	if err := e.App.DB.View(func(tx *store.Tx) error {
		u, err := orgs.UserByName(tx, "lizhou-clerk")
		userID = u.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p, err := e.App.Orgs.PrincipalOf(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var seals struct{ Items []struct{ ID string } }
	e.Must(200, "GET", "/api/v1/seals", "lizhou-clerk", nil).Decode(t, &seals)
	if len(seals.Items) == 0 {
		t.Fatal("利州区 has no seal")
	}
	return e, p.Actor(), seals.Items[0].ID
}

// TestPreviewIssueBatchSameValues: for each of the 200 sample records, the preview renders
// exactly the values the certificate issued from the same request carries — the issuer's full
// name, the issue date and the validity in Chinese, the holder — with the placeholder where the
// number goes; and a batch of the same records (with every column of the sample, the fields the
// service fills in included) issues each row with the values of the single issue.
func TestPreviewIssueBatchSameValues(t *testing.T) {
	e, clerk, seal := fillEnv(t)
	ctx := context.Background()
	svc := e.App.Certs
	fs := fixtures.FoodRecords(t)
	single := map[string]certs.Certificate{} // by holder code
	for i, f := range fs {
		req := fillRequest(f, seal, fmt.Sprintf("SC%08d", i+1))
		pv, err := svc.Preview(ctx, clerk, req)
		if err != nil {
			t.Fatalf("record %d: preview: %v", i, err)
		}
		c, _, err := svc.Issue(ctx, clerk, req, "")
		if err != nil {
			t.Fatalf("record %d: issue: %v", i, err)
		}
		if !maps.Equal(pv.Document.Values, c.Values) {
			t.Fatalf("record %d: the preview renders\n%q\nthe issued certificate carries\n%q", i, pv.Document.Values, c.Values)
		}
		if pv.Document.LicenceNumber != certs.PreviewNumber || pv.Document.QRPayload != "" || pv.Document.Mode != templates.Full {
			t.Fatalf("record %d: preview number %q, QR %q, mode %q", i, pv.Document.LicenceNumber, pv.Document.QRPayload, pv.Document.Mode)
		}
		if pv.Template.ID != c.TemplateID || pv.Template.Version != c.TemplateVersion {
			t.Fatalf("record %d: preview template %s v%d, issued with %s v%d", i, pv.Template.ID, pv.Template.Version, c.TemplateID, c.TemplateVersion)
		}
		// What the service fills in is there, as the sample prints it (the issue date is today).
		for k, want := range map[string]string{"发证机关": f.Fields["发证机关"], "发证日期": "2026年3月2日", "有效期至": f.Fields["有效期至"],
			"经营者名称": f.Fields["经营者名称"], "统一社会信用代码": f.Fields["统一社会信用代码"], "经营项目": f.Fields["经营项目"]} {
			if c.Values[k] != want {
				t.Fatalf("record %d: %s is %q, want %q", i, k, c.Values[k], want)
			}
		}
		single[c.Holder.Code] = c
	}

	// The same records as a batch sheet with every column of the sample.
	header := slices.Sorted(maps.Keys(fs[0].Fields))
	rows := [][]string{header}
	for _, f := range fs {
		var row []string
		for _, h := range header {
			row = append(row, f.Fields[h])
		}
		rows = append(rows, row)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.WriteAll(rows)
	m := certs.BatchMapping{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: seal, HolderName: "经营者名称",
		HolderCode: "统一社会信用代码", ValidTo: "有效期至", FirstSerial: fmt.Sprintf("SC%08d", len(fs)+1)}
	b, err := e.App.Batches.Start(ctx, clerk, "samples.csv", buf.Bytes(), m)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); b.Status == certs.BatchChecking || b.Status == certs.BatchIssuing; {
		if time.Now().After(deadline) {
			t.Fatalf("batch still %s after 2 minutes: %+v", b.Status, b)
		}
		time.Sleep(20 * time.Millisecond)
		if b, err = svc.GetBatch(ctx, clerk, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b.Status != certs.BatchDone || b.Done != len(fs) || b.Failed != 0 {
		t.Fatalf("batch %s: done %d, failed %d, errors %v", b.Status, b.Done, b.Failed, b.Errors)
	}
	all, _, err := svc.List(ctx, clerk, certs.Filter{}, "", 2*len(fs)+10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range all {
		if c.Serial <= fmt.Sprintf("SC%08d", len(fs)) {
			continue // a single issue
		}
		n++
		one, ok := single[c.Holder.Code]
		if !ok {
			t.Fatalf("batch certificate %s: no single issue for holder %s", c.ID, c.Holder.Code)
		}
		if !maps.Equal(c.Values, one.Values) || c.Holder != one.Holder || c.ValidFrom != one.ValidFrom || c.ValidTo != one.ValidTo ||
			c.TemplateID != one.TemplateID || c.TemplateVersion != one.TemplateVersion {
			t.Fatalf("holder %s: the batch row issued\n%q %+v %s-%s\nthe single issue\n%q %+v %s-%s", c.Holder.Code,
				c.Values, c.Holder, c.ValidFrom, c.ValidTo, one.Values, one.Holder, one.ValidFrom, one.ValidTo)
		}
	}
	if n != len(fs) {
		t.Fatalf("%d batch certificates, want %d", n, len(fs))
	}
}

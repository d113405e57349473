package certs_test

import (
	"strings"
	"testing"

	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/store"
)

// TestCheckConsistency: after issues, renewals and a replacement the certificates and the
// ledger agree; each way they can disagree is found and named.
func TestCheckConsistency(t *testing.T) {
	// stray writes a certificate record the ledger knows nothing of, on the given serial.
	stray := func(e *env, id, serialNo string) {
		e.t.Helper()
		c := certs.Certificate{ID: id, Identifier: "stray-" + id, LicenceNumber: "STRAY" + id, TypeCode: demo.TypeFood,
			IssuerOrgID: e.clerk.OrgID, Serial: serialNo, Status: certs.StatusValid, PDFSHA256: "stray" + id}
		if err := e.db.Update(func(tx *store.Tx) error { return certs.PutNewTx(tx, &c) }); err != nil {
			e.t.Fatal(err)
		}
	}
	cases := map[string]struct {
		then func(e *env)
		n    int      // certificates counted
		want []string // the problems found, in any order
	}{
		"consistent": {n: 2},
		"renewed and replaced": {then: func(e *env) {
			c := e.issue(40, 40)
			nv := e.operate(c.ID, certs.OperationRequest{Op: "renew", Reason: "延续", ValidTo: "2032-12-31", Serial: serial(41)})
			e.operate(nv.ID, certs.OperationRequest{Op: "replace", Reason: "遗失补证", Serial: serial(42), ReportRef: "遗失声明"})
		}, n: 4},
		"a used form without a certificate": {then: func(e *env) {
			if _, err := e.inv.Use(ctx, e.clerk, demo.TypeFood, serial(50), "手工登记"); err != nil {
				e.t.Fatal(err)
			}
		}, n: 2, want: []string{"台账中已使用 3 张，但只有 2 份证照打印在空白证照上"}},
		"a certificate on a form in stock": {then: func(e *env) { stray(e, "900", serial(60)) },
			n: 3, want: []string{"证照使用的空白证照状态为 in_stock", "存储的证照文件不存在", "台账中已使用 2 张，但只有 3 份证照打印在空白证照上"}},
		"a certificate on a form never received": {then: func(e *env) { stray(e, "901", "SC99999999") },
			n: 3, want: []string{"空白证照不在台账中", "存储的证照文件不存在", "台账中已使用 2 张，但只有 3 份证照打印在空白证照上"}},
		"a certificate of a bureau with no used forms": {then: func(e *env) {
			stray(e, "902", serial(zhaohuaFirst))
			if err := e.db.Update(func(tx *store.Tx) error {
				c, err := certs.GetTx(tx, "902")
				if err != nil {
					return err
				}
				c.IssuerOrgID = e.other.OrgID
				return certs.PutNewTx(tx, &c)
			}); err != nil {
				e.t.Fatal(err)
			}
		}, n: 3, want: []string{"证照使用的空白证照状态为 in_stock", "存储的证照文件不存在", "有 1 份证照，但台账中没有已使用的空白证照"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.issue(30, 30)
			e.issue(31, 31)
			if tc.then != nil {
				tc.then(e)
			}
			bad, n, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv)
			if err != nil || n != tc.n {
				t.Fatalf("checked %d certificates: %v, want %d", n, err, tc.n)
			}
			if len(bad) != len(tc.want) {
				t.Fatalf("problems %+v, want %q", bad, tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, b := range bad {
					found = found || strings.Contains(b.Problem, w)
				}
				if !found {
					t.Errorf("no problem says %q: %+v", w, bad)
				}
			}
		})
	}
}

package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/inventory"
)

// ofdOnly makes the demo food licence an OFD-only type (format ofd).
func (e *env) ofdOnly() {
	e.t.Helper()
	cat := &catalogue.Service{DB: e.db, Clock: e.clock}
	f := catalogue.FormatOFD
	if _, err := cat.UpdateType(ctx, e.admin, demo.TypeFood, catalogue.TypePatch{Format: &f}); err != nil {
		e.t.Fatalf("make the food licence ofd-only: %v", err)
	}
}

// sealUses returns the seal-use log entries of seal that name certificate id.
func (e *env) sealUses(seal, id string) []string {
	e.t.Helper()
	uses, _, err := e.reg.Uses(ctx, seal, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, u := range uses {
		if u.ObjectID == "certificate/"+id {
			out = append(out, u.DocSHA256)
		}
	}
	return out
}

// TestIssueOFDOnly: a certificate of an OFD-only type has the OFD as its one document, sealed by
// the SM2 registration of the chosen seal (also the record's seal); GET PDF answers no_pdf; the
// OFD verifies (valid, then revoked); the seal-use log, the digest index, the consistency check,
// the document collector and the backup list all know the OFD; the QR code is signed with the
// SM2 key; the overlay print is still a PDF; the retimestamp run skips it; renew, change and
// transfer in make OFD-only versions, also of a pdf+ofd certificate whose type became ofd-only.
func TestIssueOFDOnly(t *testing.T) {
	e := newEnv(t)
	c0 := e.issue(5, 6) // pdf+ofd, before the type becomes ofd-only
	e.ofdOnly()
	c := e.issue(0, 1) // the clerk chose the ECDSA registration
	if c.HasPDF() || c.PDFSize != 0 || !c.HasOFD() || c.OFDSize == 0 || c.SealID != e.sm2Seal || c.OFDSealID != e.sm2Seal || c.Serial != serial(1) {
		t.Fatalf("ofd-only certificate: pdf %q %d, ofd %q %d by %s, seal %s (want %s)", c.PDFSHA256, c.PDFSize, c.OFDSHA256, c.OFDSize, c.OFDSealID, c.SealID, e.sm2Seal)
	}
	if _, st := e.blank(1); st != inventory.Used {
		t.Errorf("blank form %s is %s after the issue", serial(1), st)
	}

	// No PDF: a clear not-found with its reason.
	_, _, err := e.svc.PDF(ctx, e.clerk, c.ID)
	var ce *certseal.Error
	if !errors.As(err, &ce) || ce.Code != certseal.ENotFound || ce.Detail["reason"] != certs.ErrCodeNoPDF || !strings.Contains(ce.Message, "该证照只有 OFD 文件") {
		t.Fatalf("PDF of an ofd-only certificate: %#v", err)
	}
	pkg, _, err := e.svc.OFD(ctx, e.clerk, c.ID)
	if err != nil || len(pkg) != c.OFDSize || !certs.IsOFD(pkg) {
		t.Fatalf("OFD: %d bytes, %v", len(pkg), err)
	}
	v, err := e.svc.VerifyOFD(ctx, pkg)
	if err != nil || v.Verdict != certs.VerdictValid || v.Certificate == nil || v.Certificate.Identifier != c.Identifier || v.Certificate.SealID != e.sm2Seal {
		t.Fatalf("verify the OFD: %+v, %v", v, err)
	}

	// The seal-use log: one use, of the SM2 seal, on the OFD; none of the ECDSA registration.
	if got := e.sealUses(e.sm2Seal, c.ID); len(got) != 1 || got[0] != c.OFDSHA256 {
		t.Errorf("SM2 seal uses for the certificate: %v, want [%s]", got, c.OFDSHA256)
	}
	if got := e.sealUses(e.seal, c.ID); len(got) != 0 {
		t.Errorf("ECDSA seal uses for an ofd-only certificate: %v", got)
	}

	// The digest index names the OFD, and nothing under an empty digest.
	var byHash, byEmpty string
	var docs []string
	e.db.View(func(tx *store.Tx) error {
		if x, err := certs.ByHashTx(tx, c.OFDSHA256); err == nil {
			byHash = x.ID
		}
		if x, err := certs.ByHashTx(tx, ""); err == nil {
			byEmpty = x.ID
		}
		return certs.DocumentsTx(tx, func(d string) error { docs = append(docs, d); return nil })
	})
	if byHash != c.ID || byEmpty != "" {
		t.Errorf("digest index: OFD -> %q, empty -> %q", byHash, byEmpty)
	}
	want := map[string]bool{c0.PDFSHA256: true, c0.OFDSHA256: true, c.OFDSHA256: true}
	if len(docs) != 3 || !want[docs[0]] || !want[docs[1]] || !want[docs[2]] {
		t.Errorf("documents a backup holds: %v, want the OFD %s and c0's two files", docs, c.OFDSHA256)
	}
	if probs, n, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv); err != nil || n != 2 || len(probs) != 0 {
		t.Errorf("consistency: %d certificates, %+v, %v", n, probs, err)
	}
	if orphans, err := certs.Orphans(ctx, e.db, e.docs); err != nil || len(orphans) != 0 {
		t.Errorf("orphans: %v %v", orphans, err)
	}
	if n, err := certs.CollectDocuments(ctx, e.db, e.docs, -time.Hour); err != nil || n != 0 {
		t.Errorf("the collector removed %d documents (%v)", n, err)
	}
	if _, _, err := e.svc.OFD(ctx, e.clerk, c.ID); err != nil {
		t.Errorf("OFD after the collector: %v", err)
	}

	// The QR code: signed with the SM2 seal's key, checked with it and not with the ECDSA one.
	sm2, err := e.reg.SignerFor(ctx, e.clerk, e.sm2Seal, demo.TypeFood, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ecd, err := e.reg.SignerFor(ctx, e.clerk, e.seal, demo.TypeFood, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if id, err := certs.VerifyQR(c.QRText, sm2.Cert.PublicKey.(*ecdsa.PublicKey)); err != nil || id != c.ID {
		t.Errorf("VerifyQR(%q) with the SM2 key = %q, %v; want %s", c.QRText, id, err, c.ID)
	}
	if _, err := certs.VerifyQR(c.QRText, ecd.Cert.PublicKey.(*ecdsa.PublicKey)); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("VerifyQR with the ECDSA key: %v", err)
	}
	tampered := strings.Replace(c.QRText, "/V/", "/V/1", 1)
	if _, err := certs.VerifyQR(tampered, sm2.Cert.PublicKey.(*ecdsa.PublicKey)); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("VerifyQR of a changed reference: %v", err)
	}

	// The overlay print for the pre-printed form is a PDF print job, unsigned.
	print, _, err := e.svc.PrintPDF(ctx, e.clerk, c.ID)
	if err != nil || !bytes.HasPrefix(print, []byte("%PDF-")) {
		t.Errorf("overlay print: %d bytes, %v", len(print), err)
	}

	// Retimestamping has no PDF to renew: skipped, not counted (c0's PDF is the one checked; it
	// has no timestamp), nothing changed.
	res, err := e.svc.Retimestamp(ctx, e.reg, 100*365*24*time.Hour, 0)
	if err != nil || res != (certs.RetimestampResult{Checked: 1}) {
		t.Errorf("retimestamp: %+v, %v", res, err)
	}

	// Renewal: a new OFD-only version (not yet in force), the old one still valid.
	to, err := time.Parse(certs.DateLayout, c.ValidTo)
	if err != nil {
		t.Fatal(err)
	}
	nv := e.operate(c.ID, certs.OperationRequest{Op: "renew", Reason: "到期延续", ValidTo: to.AddDate(3, 0, 0).Format(certs.DateLayout), Serial: serial(2)})
	if nv.HasPDF() || !nv.HasOFD() || nv.SealID != e.sm2Seal || nv.PreviousID != c.ID || nv.Version != 2 {
		t.Fatalf("renewed: %+v", nv)
	}
	npkg, _, err := e.svc.OFD(ctx, e.clerk, nv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.VerifyOFD(ctx, npkg); err != nil || v.Verdict != certs.VerdictNotYetValid || v.Certificate.Identifier != nv.Identifier {
		t.Errorf("verify the renewal: %s %v %v", v.Verdict, v.Reasons, err)
	}
	if v, _ := e.svc.VerifyOFD(ctx, pkg); v.Verdict != certs.VerdictValid {
		t.Errorf("verify the renewed version before the renewal takes effect: %s %v", v.Verdict, v.Reasons)
	}

	// Change: in force at once; the old OFD reads superseded.
	c2 := e.issue(1, 3)
	pkg2, _, _ := e.svc.OFD(ctx, e.clerk, c2.ID)
	ch := e.operate(c2.ID, certs.OperationRequest{Op: "change", Reason: "变更经营场所", Values: map[string]string{"经营场所": "广元市利州区东坝街道滨河北路88号"}, Serial: serial(4)})
	if ch.HasPDF() || !ch.HasOFD() {
		t.Fatalf("changed: %+v", ch)
	}
	if v, _ := e.svc.VerifyOFD(ctx, pkg2); v.Verdict != certs.VerdictSuperseded {
		t.Errorf("verify the changed version's OFD: %s %v", v.Verdict, v.Reasons)
	}

	// Revoke: the OFD verifies revoked.
	e.operate(ch.ID, certs.OperationRequest{Op: "revoke", Reason: "以欺骗手段取得"})
	chpkg, _, _ := e.svc.OFD(ctx, e.clerk, ch.ID)
	if v, _ := e.svc.VerifyOFD(ctx, chpkg); v.Verdict != certs.VerdictRevoked {
		t.Errorf("verify a revoked certificate's OFD: %s %v", v.Verdict, v.Reasons)
	}

	// The SM2 registration chosen directly: the same.
	req := e.foodRequest(2, serial(5))
	req.SealID = e.sm2Seal
	c3, _, err := e.svc.Issue(ctx, e.clerk, req, "")
	if err != nil || c3.HasPDF() || c3.SealID != e.sm2Seal || c3.OFDSealID != e.sm2Seal {
		t.Fatalf("issue with the SM2 seal chosen: %+v, %v", c3, err)
	}

	// Transfer in: the receiving bureau's seal, its SM2 registration, an OFD-only version.
	e.operate(c3.ID, certs.OperationRequest{Op: "transfer_out", Reason: "经营者迁往昭化区", TargetOrgID: e.other.OrgID})
	in, err := e.svc.Operate(ctx, e.other, c3.ID, certs.OperationRequest{Op: "transfer_in", Reason: "迁入本区", SealID: e.otherSeal, Serial: serial(zhaohuaFirst)})
	if err != nil || in.HasPDF() || !in.HasOFD() || in.SealID == e.otherSeal || in.SealID != in.OFDSealID || in.IssuerOrgID != e.other.OrgID {
		t.Fatalf("transfer in: %+v, %v", in, err)
	}
	inpkg, _, err := e.svc.OFD(ctx, e.other, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := e.svc.VerifyOFD(ctx, inpkg); v.Verdict != certs.VerdictValid || v.Certificate.Identifier != in.Identifier {
		t.Errorf("verify the transferred-in OFD: %s %v", v.Verdict, v.Reasons)
	}

	// A pdf+ofd certificate changed after its type became ofd-only: the new version is OFD-only,
	// the old PDF and OFD both read superseded.
	pdf0 := e.pdf(c0.ID)
	pkg0, _, _ := e.svc.OFD(ctx, e.clerk, c0.ID)
	c0n := e.operate(c0.ID, certs.OperationRequest{Op: "change", Reason: "变更经营场所", Values: map[string]string{"经营场所": "广元市利州区东坝街道滨河北路66号"}, Serial: serial(7)})
	if c0n.HasPDF() || !c0n.HasOFD() || c0n.SealID != e.sm2Seal {
		t.Fatalf("change of a pdf+ofd certificate under an ofd-only type: %+v", c0n)
	}
	if v, _ := e.svc.VerifyPDF(ctx, pdf0); v.Verdict != certs.VerdictSuperseded {
		t.Errorf("verify the old version's PDF: %s %v", v.Verdict, v.Reasons)
	}
	if v, _ := e.svc.VerifyOFD(ctx, pkg0); v.Verdict != certs.VerdictSuperseded {
		t.Errorf("verify the old version's OFD: %s %v", v.Verdict, v.Reasons)
	}
	if probs, n, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv); err != nil || n != 8 || len(probs) != 0 {
		t.Errorf("consistency after renew, change, revoke and transfer: %d certificates, %+v, %v", n, probs, err)
	}
}

// TestIssueOFDOnlyWithoutSM2Seal: a bureau without a usable SM2 seal cannot issue an OFD-only
// licence: a Chinese no_sm2_seal conflict, and nothing changes (no record, no document, the blank
// form still in stock, the database as it was).
func TestIssueOFDOnlyWithoutSM2Seal(t *testing.T) {
	e := newEnv(t)
	e.ofdOnly()
	if _, err := e.reg.Revoke(ctx, e.admin, e.sm2Seal, "密钥遗失"); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	_, _, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(0, serial(1)), "")
	wantCode(t, err, certseal.EConflict)
	var ce *certseal.Error
	if !errors.As(err, &ce) || ce.Detail["reason"] != certs.ErrCodeNoSM2Seal || !strings.Contains(ce.Message, "国密（SM2）印章") {
		t.Fatalf("without an SM2 seal: %#v", err)
	}
	if _, st := e.blank(1); st != inventory.InStock {
		t.Errorf("blank form %s is %s after a refused issue", serial(1), st)
	}
	if !bytes.Equal(before, e.snapshot()) {
		t.Error("a refused issue changed the database")
	}
	n := 0
	if err := e.docs.Walk(ctx, func(string, int64, time.Time) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("%d documents stored by a refused issue (%v)", n, err)
	}
}

package certs_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/inventory"
)

// TestIssueOFDSeals: a pdf+ofd licence's PDF is signed by the chosen ECDSA seal and its OFD by
// the SM2 registration of the same seal, under one record (one identifier, number and blank
// serial); choosing the SM2 registration gives the same pair; without a usable SM2 seal the
// issue is refused with no_sm2_seal and consumes nothing (the blank form stays in stock).
func TestIssueOFDSeals(t *testing.T) {
	e := newEnv(t)
	c := e.issue(0, 1)
	if c.SealID != e.seal || c.OFDSealID != e.sm2Seal || c.OFDSHA256 == "" || c.Serial != serial(1) {
		t.Fatalf("seals %s / %s (want %s / %s), ofd %q", c.SealID, c.OFDSealID, e.seal, e.sm2Seal, c.OFDSHA256)
	}
	pkg, got, err := e.svc.OFD(ctx, e.clerk, c.ID)
	if err != nil || got.ID != c.ID || len(pkg) != c.OFDSize {
		t.Fatalf("OFD: %d bytes, %v", len(pkg), err)
	}
	if !certs.IsOFD(pkg) || certs.IsOFD(e.pdf(c.ID)) {
		t.Error("IsOFD tells the OFD from the PDF wrongly")
	}
	v, err := e.svc.VerifyOFD(ctx, pkg)
	if err != nil || v.Verdict != certs.VerdictValid || v.Certificate == nil || v.Certificate.Identifier != c.Identifier {
		t.Fatalf("verify the OFD: %+v, %v", v, err)
	}
	if _, _, err := e.svc.OFD(ctx, e.other, c.ID); certseal.ErrorCode(err) != certseal.ENotFound {
		t.Errorf("another bureau reads the OFD: %v", err)
	}

	// The SM2 registration chosen: the PDF still comes from the ECDSA one.
	req := e.foodRequest(1, serial(2))
	req.SealID = e.sm2Seal
	c2, _, err := e.svc.Issue(ctx, e.clerk, req, "")
	if err != nil || c2.SealID != e.seal || c2.OFDSealID != e.sm2Seal {
		t.Fatalf("issue with the SM2 seal chosen: %+v, %v", c2, err)
	}

	// A damaged stored OFD is never served.
	os.WriteFile(e.docs.Path(c.OFDSHA256), append(pkg[:len(pkg)-1:len(pkg)-1], pkg[len(pkg)-1]^1), 0o600)
	if _, _, err := e.svc.OFD(ctx, e.clerk, c.ID); certseal.ErrorCode(err) != certseal.EInternal {
		t.Errorf("damaged OFD: %v", err)
	}
	// and the consistency check names it
	probs, _, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv)
	if err != nil || len(probs) != 1 || probs[0].CertificateID != c.ID || !strings.Contains(probs[0].Problem, "OFD 证照文件已损坏") {
		t.Errorf("consistency check of a damaged OFD: %+v, %v", probs, err)
	}

	// A type made PDF-only again issues PDFs only; such a certificate has no OFD (404 no_ofd).
	cat := &catalogue.Service{DB: e.db, Clock: e.clock}
	pdfOnly := catalogue.FormatPDF
	if _, err := cat.UpdateType(ctx, e.admin, demo.TypeFood, catalogue.TypePatch{Format: &pdfOnly}); err != nil {
		t.Fatal(err)
	}
	c3 := e.issue(3, 4)
	if c3.OFDSHA256 != "" || c3.OFDSealID != "" {
		t.Errorf("a PDF-only certificate has an OFD: %+v", c3)
	}
	_, _, err = e.svc.OFD(ctx, e.clerk, c3.ID)
	var nf *certseal.Error
	if !errors.As(err, &nf) || nf.Code != certseal.ENotFound || nf.Detail["reason"] != certs.ErrCodeNoOFD {
		t.Errorf("OFD of a PDF-only certificate: %v", err)
	}
	bothFormats := catalogue.FormatPDFOFD
	if _, err := cat.UpdateType(ctx, e.admin, demo.TypeFood, catalogue.TypePatch{Format: &bothFormats}); err != nil {
		t.Fatal(err)
	}

	// No SM2 seal: refused, nothing consumed.
	if _, err := e.reg.Revoke(ctx, e.admin, e.sm2Seal, "密钥遗失"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Issue(ctx, e.clerk, e.foodRequest(2, serial(3)), "")
	wantCode(t, err, certseal.EConflict)
	var ce *certseal.Error
	if !errors.As(err, &ce) || ce.Detail["reason"] != certs.ErrCodeNoSM2Seal || ce.Message != "证照类型要求 OFD 文件，但本机构没有可用的国密（SM2）印章" {
		t.Fatalf("without an SM2 seal: %#v", err)
	}
	if _, st := e.blank(3); st != inventory.InStock {
		t.Errorf("blank form %s is %s after a refused issue", serial(3), st)
	}
}

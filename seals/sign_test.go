package seals_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/seals"

	"github.com/jung-kurt/gofpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

var signAt = time.Date(2026, 6, 1, 10, 0, 0, 0, certseal.China)

type fixture struct {
	ca   *seals.CA
	key  seals.Signer
	cert *x509.Certificate
	pic  *seals.Picture
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ca, err := seals.NewCA("广元市政务服务和公共资源交易中心根证书", signAt.AddDate(-1, 0, 0), 20*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, err := seals.NewSealKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueSeal(seals.SealSubject{ID: "51080200000001", Name: "利州区行政审批局行政审批专用章", Org: "利州区行政审批局", Code: "5108020012345"},
		key.Public(), signAt.AddDate(0, -1, 0), signAt.AddDate(3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	pic, err := seals.Draw(lizhou)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ca: ca, key: key, cert: cert, pic: pic}
}

func (f *fixture) opts() seals.SignOptions {
	return seals.SignOptions{
		Signer: f.key, Cert: f.cert, Chain: []*x509.Certificate{f.ca.Cert},
		Page: 1, Rect: [4]float64{380, 80, 500, 200}, Picture: f.pic,
		Reason: "电子证照签章", Location: "广元市利州区", Time: signAt,
	}
}

func (f *fixture) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.ca.Cert)
	return p
}

// gofpdfDoc is a one-page certificate-like PDF as the template renderer writes it (classic
// xref table).
func gofpdfDoc(t testing.TB) []byte {
	t.Helper()
	p := gofpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "B", 24)
	p.Text(30, 40, "Certificate of approval")
	p.SetFont("Helvetica", "", 12)
	for i := 0; i < 20; i++ {
		p.Text(30, 60+float64(i)*8, "Line of the certificate body, number "+string(rune('A'+i)))
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdfcpuDoc is the same page rewritten by pdfcpu with object and xref streams.
func pdfcpuDoc(t testing.TB) []byte {
	t.Helper()
	api.DisableConfigDir()
	conf := model.NewDefaultConfiguration()
	conf.WriteObjectStream = true
	conf.WriteXRefStream = true
	var out bytes.Buffer
	if err := api.Optimize(bytes.NewReader(gofpdfDoc(t)), &out, conf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("/XRef")) {
		t.Fatalf("pdfcpu output has no xref stream")
	}
	return out.Bytes()
}

func pdfsig(t *testing.T, args ...string) string {
	t.Helper()
	fixtures.NeedTool(t, "pdfsig", "poppler-utils")
	out, _ := exec.Command("pdfsig", args...).CombinedOutput()
	return string(out)
}

// nssDir creates an NSS database trusting our CA.
func nssDir(t *testing.T, ca *seals.CA) string {
	t.Helper()
	fixtures.NeedTool(t, "certutil", "libnss3-tools")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertificatePEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + dir, "--empty-password"},
		{"-A", "-d", "sql:" + dir, "-n", "certseal-ca", "-t", "CT,C,C", "-i", caFile},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// tamperAt returns the offset of a byte of doc that can change without breaking the PDF's
// syntax: a digit of the creation date, or of the file identifier.
func tamperAt(t *testing.T, doc []byte) int {
	t.Helper()
	if k := bytes.Index(doc, []byte("(D:20")); k >= 0 {
		return k + 6
	}
	if k := bytes.Index(doc, []byte("/ID")); k >= 0 {
		if j := bytes.IndexByte(doc[k:], '<'); j >= 0 {
			return k + j + 2
		}
	}
	t.Fatal("nothing to tamper with")
	return 0
}

// trustInPdfcpu makes pdfcpu's validation trust our CA, as the NSS database does for pdfsig.
func trustInPdfcpu(t *testing.T, ca *seals.CA) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "certseal-ca.pem"), ca.CertificatePEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	old := model.TrustedCertDir
	model.TrustedCertDir = dir
	pdfcpu.InvalidateCertificatePool()
	t.Cleanup(func() { model.TrustedCertDir = old; pdfcpu.InvalidateCertificatePool() })
}

// pdfcpuVerdict returns pdfcpu's validation of the one signature in pdf.
func pdfcpuVerdict(t *testing.T, pdf []byte) *model.SignatureValidationResult {
	t.Helper()
	res, err := api.ValidateSignaturesRaw(bytes.NewReader(pdf), true, nil)
	if err != nil {
		t.Fatalf("pdfcpu: %v", err)
	}
	if len(res) != 1 {
		t.Fatalf("pdfcpu signatures: got %d, want 1", len(res))
	}
	t.Logf("pdfcpu: %v", res[0])
	return res[0]
}

func TestSignAndVerify(t *testing.T) {
	f := newFixture(t)
	nss := nssDir(t, f.ca)
	trustInPdfcpu(t, f.ca)
	for name, doc := range map[string][]byte{"gofpdf": gofpdfDoc(t), "pdfcpu": pdfcpuDoc(t)} {
		t.Run(name, func(t *testing.T) {
			signed, err := seals.SignPDF(doc, f.opts())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(signed, doc) {
				t.Fatal("the original bytes are not kept in front")
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "signed.pdf")
			if err := os.WriteFile(file, signed, 0o644); err != nil {
				t.Fatal(err)
			}
			out := pdfsig(t, "-nssdir", "sql:"+nss, file)
			if !strings.Contains(out, "Signature is Valid.") || !strings.Contains(out, "Certificate is Trusted.") {
				t.Errorf("pdfsig: got\n%s\nwant Signature is Valid. and Certificate is Trusted.", out)
			}
			if out := pdfsig(t, file); !strings.Contains(out, "Signature is Valid.") {
				t.Errorf("pdfsig without our CA: got\n%s\nwant Signature is Valid.", out)
			}
			reps, err := seals.ValidatePDF(signed, f.roots(), signAt.AddDate(0, 1, 0))
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) != 1 {
				t.Fatalf("reports: got %d, want 1", len(reps))
			}
			r := reps[0]
			if !r.Valid || r.Modified || !r.Trusted || !r.CertValidNow || len(r.Problems) != 0 {
				t.Errorf("report: got %+v, want valid, unmodified, trusted", r)
			}
			if r.SealName != "利州区行政审批局行政审批专用章" || r.Org != "利州区行政审批局" || r.SealID != "51080200000001" || r.Code != "5108020012345" {
				t.Errorf("signer: got %q %q %q %q", r.SealName, r.Org, r.SealID, r.Code)
			}
			if !r.Time.Equal(signAt) {
				t.Errorf("time: got %v, want %v", r.Time, signAt)
			}
			// pdfcpu finds the signature intact and the chain trusted; with no CRL or OCSP
			// address in the certificate (the CRL is served by the registry) it cannot conclude
			// on revocation, so it says "unknown" for that reason only, never "invalid".
			if v := pdfcpuVerdict(t, signed); v.Status == model.SignatureStatusInvalid ||
				(v.Status != model.SignatureStatusValid && v.Reason != model.SignatureReasonCertRevocationUnknown) {
				t.Errorf("pdfcpu: got %v (%v), want valid, or unknown only for revocation, like pdfsig's valid", v.Status, v.Reason)
			}

			// One byte changed inside the signed range.
			bad := bytes.Clone(signed)
			bad[tamperAt(t, doc)] ^= 0x01
			badFile := filepath.Join(dir, "tampered.pdf")
			if err := os.WriteFile(badFile, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			if out := pdfsig(t, "-nssdir", "sql:"+nss, badFile); strings.Contains(out, "Signature is Valid.") {
				t.Errorf("pdfsig on the tampered copy: got\n%s\nwant no Signature is Valid.", out)
			}
			reps, err = seals.ValidatePDF(bad, f.roots(), signAt)
			if err != nil {
				t.Fatal(err)
			}
			if len(reps) != 1 || reps[0].Valid {
				t.Errorf("tampered report: got %+v, want invalid", reps)
			}
			if v := pdfcpuVerdict(t, bad); v.Status != model.SignatureStatusInvalid || v.Reason != model.SignatureReasonDocModified {
				t.Errorf("pdfcpu on the tampered copy: got %v (%v), want invalid, document modified, like pdfsig", v.Status, v.Reason)
			}

			// Bytes appended after signing.
			more := append(bytes.Clone(signed), "% appended\n"...)
			reps, _ = seals.ValidatePDF(more, f.roots(), signAt)
			if len(reps) != 1 || !reps[0].Modified || !reps[0].Valid {
				t.Errorf("appended report: got %+v, want valid but modified", reps)
			}
		})
	}
}

func TestSignTwice(t *testing.T) {
	f := newFixture(t)
	once, err := seals.SignPDF(gofpdfDoc(t), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	o := f.opts()
	o.Rect = [4]float64{80, 80, 200, 200}
	twice, err := seals.SignPDF(once, o)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := seals.ValidatePDF(twice, f.roots(), signAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || !reps[0].Valid || !reps[0].Modified || !reps[1].Valid || reps[1].Modified {
		t.Errorf("reports: got %+v, want two valid, the first followed by an update", reps)
	}
	file := filepath.Join(t.TempDir(), "twice.pdf")
	if err := os.WriteFile(file, twice, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := pdfsig(t, file); strings.Count(out, "Signature is Valid.") != 2 {
		t.Errorf("pdfsig: got\n%s\nwant two valid signatures", out)
	}
}

func TestSignRejects(t *testing.T) {
	f := newFixture(t)
	doc := gofpdfDoc(t)
	api.DisableConfigDir()
	conf := model.NewAESConfiguration("user", "owner", 256)
	var enc bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(doc), &enc, conf); err != nil {
		t.Fatal(err)
	}
	expired := f.opts()
	expired.Time = signAt.AddDate(5, 0, 0)
	page9 := f.opts()
	page9.Page = 9
	for name, tc := range map[string]struct {
		pdf  []byte
		o    seals.SignOptions
		code string
	}{
		"broken":    {doc[:len(doc)/2], f.opts(), certseal.EInvalid},
		"garbage":   {[]byte("%PDF-1.4\nhello\n%%EOF\n"), f.opts(), certseal.EInvalid},
		"not a pdf": {[]byte("hello"), f.opts(), certseal.EInvalid},
		"encrypted": {enc.Bytes(), f.opts(), certseal.EInvalid},
		"expired":   {doc, expired, certseal.EForbidden},
		"page 9":    {doc, page9, certseal.EInvalid},
	} {
		out, err := seals.SignPDF(tc.pdf, tc.o)
		if certseal.ErrorCode(err) != tc.code || out != nil {
			t.Errorf("%s: got %v, want %s and nothing signed", name, err, tc.code)
		}
		if name == "encrypted" && !strings.Contains(certseal.ErrorMessage(err), "加密") {
			t.Errorf("encrypted: got message %q, want it to say the file is encrypted", certseal.ErrorMessage(err))
		}
	}
}

func TestSignedExampleRender(t *testing.T) {
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	f := newFixture(t)
	signed, err := seals.SignPDF(gofpdfDoc(t), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(file, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-singlefile", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	img, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	// The seal is red where the rect is: (380..500, 80..200) pt from the bottom-left.
	if n := redPixels(t, img, 380, 80, 500, 200, 60); n < 200 {
		t.Errorf("red pixels inside the seal rect: got %d, want many", n)
	}
	if n := redPixels(t, img, 80, 500, 200, 620, 60); n != 0 {
		t.Errorf("red pixels elsewhere: got %d, want 0", n)
	}
	if *update {
		if out, err := exec.Command("pdftoppm", "-png", "-r", "90", "-singlefile", file, filepath.Join("..", "docs", "seals", "signed-example")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
	}
}

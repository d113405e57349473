package seals_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/internal/tsa"
	"certseal/seals"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// builtinTSA is an authority as the registry makes one: a key certified by the fixture's CA
// with the critical EKU id-kp-timeStamping, its clock at `at`.
func (f *fixture) builtinTSA(t testing.TB, at time.Time) *tsa.Authority {
	t.Helper()
	key, err := seals.NewSealKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := f.ca.IssueTSA(seals.TSAName, key.Public(), at.AddDate(0, -1, 0), at.AddDate(5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	return &tsa.Authority{Signer: key, Cert: cert, Chain: []*x509.Certificate{f.ca.Cert}, Accuracy: tsa.Accuracy{Seconds: 1},
		Now: func() time.Time { return at }, NextSerial: func() (*big.Int, error) { return big.NewInt(n.Add(1)), nil }}
}

// sigParts returns, for every /ByteRange in pdf in file order, the covered bytes and the
// /Contents (DER, padding stripped to the first element).
func sigParts(t *testing.T, pdf []byte) (covered, contents [][]byte) {
	t.Helper()
	br := byteRangeRe.FindAllSubmatch(pdf, -1)
	ct := contentsRe.FindAllSubmatch(pdf, -1)
	if len(br) != len(ct) {
		t.Fatalf("%d byte ranges, %d contents", len(br), len(ct))
	}
	for i := range br {
		var r [4]int
		for j := range r {
			r[j], _ = strconv.Atoi(string(br[i][j+1]))
		}
		covered = append(covered, append(append([]byte{}, pdf[r[0]:r[0]+r[1]]...), pdf[r[2]:r[2]+r[3]]...))
		raw, err := hex.DecodeString(string(ct[i][1]))
		if err != nil {
			t.Fatal(err)
		}
		contents = append(contents, trimDER(raw))
	}
	return covered, contents
}

func trimDER(b []byte) []byte {
	// the length of the outer SEQUENCE
	if len(b) < 4 || b[1] < 0x80 {
		return b[:2+int(b[1])]
	}
	n := int(b[1] & 0x7f)
	l := 0
	for _, c := range b[2 : 2+n] {
		l = l<<8 | int(c)
	}
	return b[:2+n+l]
}

// signatureTimestamp returns the token in the signature-time-stamp-token attribute of cms,
// found as an outside reader would: the DER after the attribute's OID.
func signatureTimestamp(t *testing.T, cms []byte) []byte {
	t.Helper()
	oid := []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e}
	k := bytes.Index(cms, oid)
	if k < 0 {
		return nil
	}
	set := cms[k+len(oid):] // SET { token }
	hdr := 2
	if set[1] >= 0x80 {
		hdr += int(set[1] & 0x7f)
	}
	return trimDER(set[hdr:])
}

func TestPAdESLevels(t *testing.T) {
	openssl := fixtures.NeedTool(t, "openssl", "openssl")
	for _, level := range []seals.Level{seals.LevelBB, seals.LevelBT, seals.LevelBLT, seals.LevelBLTA} {
		for name, doc := range map[string]func(testing.TB) []byte{"fast": gofpdfDoc, "pdfcpu": pdfcpuDoc} {
			t.Run(string(level)+"/"+name, func(t *testing.T) {
				f := newFixture(t)
				stampAt := signAt.Add(3 * time.Second)
				a := f.builtinTSA(t, stampAt)
				o := f.opts()
				crl, err := f.ca.CRL(nil, signAt, signAt.Add(24*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				o.LongTerm = &seals.LongTerm{Level: level, TSA: a, CRLs: [][]byte{crl}}
				signed, err := seals.SignPDF(doc(t), o)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				file := filepath.Join(dir, "signed.pdf")
				os.WriteFile(file, signed, 0o600)
				caFile := filepath.Join(dir, "ca.pem")
				os.WriteFile(caFile, f.ca.CertificatePEM(), 0o600)

				reps, err := seals.ValidatePDF(signed, f.roots(), signAt.AddDate(10, 0, 0))
				if err != nil {
					t.Fatal(err)
				}
				wantN := 1
				if level == seals.LevelBLTA {
					wantN = 2
				}
				if len(reps) != wantN {
					t.Fatalf("%d reports, want %d: %+v", len(reps), wantN, reps)
				}
				r := reps[0]
				if !r.Valid || r.Modified || !r.Trusted || r.Level != level {
					t.Errorf("signature: valid %v modified %v trusted %v level %q; want valid, whole, trusted, %s; problems %v", r.Valid, r.Modified, r.Trusted, r.Level, level, r.Problems)
				}
				if level != seals.LevelBB && (!r.Timestamp.Equal(stampAt) || r.TSA != seals.TSAName) {
					t.Errorf("timestamp %v by %q, want %v by %s", r.Timestamp, r.TSA, stampAt, seals.TSAName)
				}
				// Years later, past the seal certificate's expiry: a proven time keeps it
				// within validity; without one the expiry is a problem.
				if level != seals.LevelBB && (!r.CertValidAtSigning || r.CertValidNow || len(r.Problems) != 0) {
					t.Errorf("after expiry: valid at signing %v, now %v, problems %v", r.CertValidAtSigning, r.CertValidNow, r.Problems)
				}
				if level == seals.LevelBLTA && (!reps[1].DocTimestamp || !reps[1].Valid || !reps[1].TimestampTrusted || reps[1].Modified) {
					t.Errorf("document timestamp: %+v", reps[1])
				}
				covered, contents := sigParts(t, signed)
				// PAdES: no signingTime attribute (1.2.840.113549.1.9.5).
				if bytes.Contains(contents[0], []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05}) {
					t.Error("the CMS has a signingTime attribute")
				}
				runOK := func(want string, args ...string) string {
					out, err := exec.Command(openssl, args...).CombinedOutput()
					if err != nil || !strings.Contains(string(out), want) {
						t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
					}
					return string(out)
				}
				if level != seals.LevelBB {
					tok := signatureTimestamp(t, contents[0])
					if tok == nil {
						t.Fatal("no signature timestamp in the CMS")
					}
					os.WriteFile(filepath.Join(dir, "sig.tst"), tok, 0o600)
					// -digest over the signature value: the last OCTET STRING of the SignerInfo.
					sig := signatureValue(t, contents[0])
					sum := sha256.Sum256(sig)
					runOK("Verification: OK", "ts", "-verify", "-digest", hex.EncodeToString(sum[:]), "-in", filepath.Join(dir, "sig.tst"), "-token_in", "-CAfile", caFile)
					os.WriteFile(filepath.Join(dir, "sigvalue"), sig, 0o600)
					runOK("Verification: OK", "ts", "-verify", "-data", filepath.Join(dir, "sigvalue"), "-in", filepath.Join(dir, "sig.tst"), "-token_in", "-CAfile", caFile)
					runOK("Policy OID: "+tsa.PolicyOID, "ts", "-reply", "-in", filepath.Join(dir, "sig.tst"), "-token_in", "-text")
				}
				if level == seals.LevelBLTA {
					os.WriteFile(filepath.Join(dir, "doc.tst"), contents[1], 0o600)
					os.WriteFile(filepath.Join(dir, "doc.covered"), covered[1], 0o600)
					runOK("Verification: OK", "ts", "-verify", "-data", filepath.Join(dir, "doc.covered"), "-in", filepath.Join(dir, "doc.tst"), "-token_in", "-CAfile", caFile)
				}
				if level == seals.LevelBLT || level == seals.LevelBLTA {
					dssParses(t, signed, 3) // seal, CA, TSA
				}
				// poppler checks the seal's signature (it does not implement ETSI.RFC3161, and
				// lists the document timestamp as a second, unverified signature).
				out := pdfsig(t, file)
				if strings.Count(out, "Signature is Valid.") != 1 || strings.Count(out, "Signature #") != wantN {
					t.Errorf("pdfsig: got\n%s\nwant the seal's Signature is Valid. and %d signatures", out, wantN)
				}
				fixtures.NeedTool(t, "mutool", "mupdf-tools")
				mutool := func(pdf []byte) string {
					p := filepath.Join(dir, "m.pdf")
					os.WriteFile(p, pdf, 0o600)
					mo, _ := exec.Command("mutool", "sign", "-v", p).CombinedOutput()
					return string(mo)
				}
				// MuPDF calls every byte after a signature an edit: the signed revision (up to
				// the DSS) is unchanged, and the whole file's signature is still valid.
				end := r.ByteRange[2] + r.ByteRange[3]
				if mo := mutool(signed[:end]); !strings.Contains(mo, "The document is unchanged since signing.") {
					t.Errorf("mutool sign -v on the signed revision:\n%s", mo)
				}
				if mo := mutool(signed); int(end) == len(signed) && !strings.Contains(mo, "The document is unchanged since signing.") ||
					int(end) < len(signed) && !strings.Contains(mo, "The signature is valid but there have been edits since signing.") {
					t.Errorf("mutool sign -v:\n%s", mo)
				}
			})
		}
	}
}

// signatureValue returns the SignerInfo's signature value of a CMS of ours: the OCTET STRING
// that follows the ecdsa-with-SHA256 identifier of the signer.
func signatureValue(t *testing.T, cms []byte) []byte {
	t.Helper()
	oid := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}
	if j := bytes.Index(cms, []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e}); j > 0 {
		cms = cms[:j] // before the unsigned attributes, whose token has its own signature
	}
	k := bytes.LastIndex(cms, oid)
	if k < 0 {
		t.Fatal("no ecdsa-with-SHA256 in the CMS")
	}
	rest := cms[k+len(oid):]
	if rest[0] == 0x05 { // NULL parameters
		rest = rest[2:]
	}
	if rest[0] != 0x04 {
		t.Fatalf("no OCTET STRING after the signature algorithm: %x", rest[:4])
	}
	return rest[2 : 2+int(rest[1])]
}

// dssParses reads the DSS with pdfcpu: the catalog's /DSS names at least certs certificates
// and one CRL, each a stream that parses as what it is.
func dssParses(t *testing.T, pdf []byte, certs int) {
	t.Helper()
	ctx, err := api.ReadContext(bytes.NewReader(pdf), nil)
	if err != nil {
		t.Fatalf("pdfcpu: %v", err)
	}
	cat, err := ctx.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	obj, ok := cat.Find("DSS")
	if !ok {
		t.Fatal("the catalog has no /DSS")
	}
	dss, err := ctx.DereferenceDict(obj)
	if err != nil || dss.Type() == nil || *dss.Type() != "DSS" {
		t.Fatalf("DSS: %v %v", dss, err)
	}
	read := func(key string) [][]byte {
		a, err := ctx.DereferenceArray(dss[key])
		if err != nil {
			t.Fatalf("DSS /%s: %v", key, err)
		}
		var out [][]byte
		for _, o := range a {
			sd, _, err := ctx.DereferenceStreamDict(o)
			if err != nil || sd == nil {
				t.Fatalf("DSS /%s entry: %v", key, err)
			}
			if err := sd.Decode(); err != nil {
				t.Fatal(err)
			}
			out = append(out, sd.Content)
		}
		return out
	}
	cs := read("Certs")
	if len(cs) < certs {
		t.Errorf("DSS holds %d certificates, want %d", len(cs), certs)
	}
	for _, c := range cs {
		if _, err := x509.ParseCertificate(c); err != nil {
			t.Errorf("DSS certificate: %v", err)
		}
	}
	crls := read("CRLs")
	if len(crls) != 1 {
		t.Fatalf("DSS holds %d CRLs, want 1", len(crls))
	}
	if _, err := x509.ParseRevocationList(crls[0]); err != nil {
		t.Errorf("DSS CRL: %v", err)
	}
	vri, err := ctx.DereferenceDict(dss["VRI"])
	if err != nil || len(vri) != 1 {
		t.Errorf("VRI: %v %v", vri, err)
	}
	_ = types.Dict{}
}

var _ = context.Background

// failingTSA is a TSA that cannot answer.
type failingTSA struct{ calls atomic.Int64 }

func (f *failingTSA) Timestamp(context.Context, tsa.Hash, []byte) ([]byte, error) {
	f.calls.Add(1)
	return nil, tsa.Unavailable(os.ErrDeadlineExceeded)
}
func (*failingTSA) Name() string { return "down" }

// TestPAdESFailsLoudly: with a TSA that fails, SignPDF returns the unavailable error and no
// file, at every level that needs a timestamp.
func TestPAdESFailsLoudly(t *testing.T) {
	f := newFixture(t)
	for _, level := range []seals.Level{seals.LevelBT, seals.LevelBLT, seals.LevelBLTA} {
		o := f.opts()
		ft := &failingTSA{}
		o.LongTerm = &seals.LongTerm{Level: level, TSA: ft}
		out, err := seals.SignPDF(gofpdfDoc(t), o)
		if out != nil || certseal.ErrorCode(err) != certseal.EUnavailable || !strings.HasPrefix(certseal.ErrorMessage(err), "时间戳服务不可用") || ft.calls.Load() != 1 {
			t.Errorf("%s: got %d bytes, %v after %d calls; want the unavailable error after one call", level, len(out), err, ft.calls.Load())
		}
	}
	o := f.opts()
	o.LongTerm = &seals.LongTerm{Level: seals.LevelBT}
	if _, err := seals.SignPDF(gofpdfDoc(t), o); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("B-T without a TSA: %v", err)
	}
}

// TestLTVUpdatesOnly: after a B-LTA file, a further update that changes the page or the
// catalog is a modification of both signatures; the DSS and document timestamp updates are not.
func TestLTVUpdatesOnly(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.LongTerm = &seals.LongTerm{Level: seals.LevelBLTA, TSA: f.builtinTSA(t, signAt)}
	signed, err := seals.SignPDF(gofpdfDoc(t), o)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := seals.ValidatePDF(signed, f.roots(), signAt)
	if err != nil || len(reps) != 2 || reps[0].Modified || !reps[0].Extended || reps[1].Modified {
		t.Fatalf("B-LTA: %+v %v", reps, err)
	}
	// The page object of the gofpdf document is 3 0 obj; redefine it in an update.
	prev := bytes.LastIndex(signed, []byte("startxref"))
	for name, obj := range map[string]string{
		"page":    "3 0 obj\n<</Type /Page /Parent 1 0 R /MediaBox [0 0 10 10]>>\nendobj\n",
		"catalog": "", // filled below
		"stream":  "4 0 obj\n<</Length 3>>\nstream\nq Q\nendstream\nendobj\n",
	} {
		if name == "catalog" {
			k := bytes.LastIndex(signed, []byte("/Root "))
			ref := strings.Fields(string(signed[k+6 : k+20]))[0]
			obj = ref + " 0 obj\n<</Type /Catalog /Pages 1 0 R /OpenAction 3 0 R>>\nendobj\n"
		}
		upd := append(bytes.Clone(signed), obj...)
		upd = append(upd, "xref\n0 1\n0000000000 65535 f \ntrailer\n<</Size 99 /Prev "+strings.Fields(string(signed[prev+9:]))[0]+">>\nstartxref\n0\n%%EOF\n"...)
		reps, err := seals.ValidatePDF(upd, f.roots(), signAt)
		if err != nil || len(reps) != 2 || !reps[0].Modified || !reps[1].Modified {
			t.Errorf("%s changed after the document timestamp: %+v %v", name, reps, err)
		}
	}
}

package seals_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/seals"
	"certseal/templates"
)

var ofdCreated = time.Date(2024, 4, 16, 9, 30, 0, 0, time.UTC)

// unsignedOFD writes food-licence fixture i as an unsigned OFD and returns it with the seal's
// place on the page.
func unsignedOFD(t testing.TB, i int) ([]byte, templates.SealPlacement) {
	t.Helper()
	tpl, ok := templates.BuiltinByID("food-business-licence")
	if !ok {
		t.Fatal("no food-business-licence template")
	}
	rec := fixtures.FoodRecords(t)[i]
	p, err := templates.NewRenderer().Layout(tpl, templates.Document{Values: rec.Fields, LicenceNumber: rec.LicenceNumber,
		QRPayload: rec.VerifyURL, Created: ofdCreated})
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := templates.OFDWriter{Author: "广元市利州区行政审批局", Licence: &templates.LicenceMetadata{
		Identifier: "1.2.156.3005.2.11510802MB0000000X.JY15108020000000.001.K", Number: rec.LicenceNumber}}.Write(p)
	if err != nil {
		t.Fatal(err)
	}
	return pkg, p.Seal
}

// sealOpts are the OFDSignOptions for a seal at pl signed by sign at at.
func sealOpts(pl templates.SealPlacement, at time.Time, sign func([]byte) ([]byte, error)) seals.OFDSignOptions {
	return seals.OFDSignOptions{Sign: sign, Time: at, Page: pl.Page, X: pl.X, Y: pl.Y, Diameter: pl.Diameter}
}

// ofdEnv is a registry with 利州区's SM2 seal, and a signed food licence.
type ofdEnv struct {
	*regEnv
	g        *seals.Signing
	at       time.Time
	unsigned []byte
	signed   []byte
	pl       templates.SealPlacement
}

func newOFDEnv(t testing.TB) *ofdEnv {
	t.Helper()
	e := &ofdEnv{regEnv: newRegEnv(t)}
	_, e.g = e.sm2Seal(t)
	e.at = regStart.Add(time.Hour)
	e.clock.Set(e.at)
	e.unsigned, e.pl = unsignedOFD(t, 0)
	e.signed = e.sign(t, e.unsigned, e.at)
	return e
}

func (e *ofdEnv) sign(t testing.TB, pkg []byte, at time.Time) []byte {
	t.Helper()
	out, err := seals.SignOFD(pkg, sealOpts(e.pl, at, func(h []byte) ([]byte, error) { return e.g.SignSES(h, at, "certificate.ofd") }))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *ofdEnv) verify(t testing.TB, pkg []byte) (*seals.OFDVerdict[*seals.SESVerdict], error) {
	t.Helper()
	ctx := context.Background()
	vs, err := seals.VerifyOFD(ctx, pkg, func(der, h []byte) (*seals.SESVerdict, error) { return e.reg.VerifySES(ctx, der, h) })
	if err != nil {
		return nil, err
	}
	if len(vs) != 1 {
		t.Fatalf("%d verdicts, want 1", len(vs))
	}
	return vs[0], nil
}

// zipFile is one entry of a package, for rewriting it.
type zipFile struct {
	name string
	data []byte
}

func readZip(t testing.TB, pkg []byte) []zipFile {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zipFile
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zipFile{f.Name, b})
	}
	return out
}

func writeZip(t testing.TB, files []zipFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fileOf(files []zipFile, name string) []byte {
	for _, f := range files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}

// TestSignOFD signs a food licence's OFD with the SM2 seal and verifies it: the signature
// files are where GB/T 33190 puts them, every other file is a Reference with its SM3, the
// stamp is the template's 42 mm seal box on the page, and the SES_Signature (verified by the
// registry) signs SM3 of Signature.xml.
func TestSignOFD(t *testing.T) {
	e := newOFDEnv(t)
	before, after := readZip(t, e.unsigned), readZip(t, e.signed)
	var names []string
	for _, f := range after {
		names = append(names, f.name)
	}
	for _, want := range []string{"Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/SignedValue.dat"} {
		if !slices.Contains(names, want) {
			t.Errorf("signed package lacks %s: %v", want, names)
		}
	}
	if len(after) != len(before)+3 {
		t.Errorf("%d files after signing, %d before", len(after), len(before))
	}
	for _, f := range before {
		if f.name != "OFD.xml" && !bytes.Equal(fileOf(after, f.name), f.data) {
			t.Errorf("signing changed %s", f.name)
		}
	}
	if !bytes.Contains(fileOf(after, "OFD.xml"), []byte("<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>")) {
		t.Errorf("OFD.xml does not name the signatures: %s", fileOf(after, "OFD.xml"))
	}
	sigXML := fileOf(after, "Doc_0/Signs/Sign_0/Signature.xml")
	for _, want := range []string{`<ofd:Provider ProviderName="certseal" Version="` + seals.OFDProviderVersion + `"`,
		"<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>", "<ofd:SignatureDateTime>" + e.at.UTC().Format("20060102150405Z") + "<",
		`<ofd:References CheckMethod="1.2.156.10197.1.401">`, `<ofd:StampAnnot ID="1" PageRef="2" Boundary="219 134 42 42"/>`,
		"<ofd:SignedValue>/Doc_0/Signs/Sign_0/SignedValue.dat</ofd:SignedValue>"} {
		if !bytes.Contains(sigXML, []byte(want)) {
			t.Errorf("Signature.xml lacks %s:\n%s", want, sigXML)
		}
	}
	for _, f := range after {
		if strings.HasSuffix(f.name, ".xml") {
			if err := xml.Unmarshal(f.data, new(struct{})); err != nil {
				t.Errorf("%s: %v", f.name, err)
			}
		}
	}

	v, err := e.verify(t, e.signed)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact() || len(v.Problems) != 0 || v.SESErr != nil || v.SES == nil || !v.SES.OK {
		t.Fatalf("verdict %+v, SES %+v", v, v.SES)
	}
	if v.CustomData["证照编号"] != fixtures.FoodRecords(t)[0].LicenceNumber || v.CustomData["证照标识"] == "" || len(v.DocID) != 32 {
		t.Errorf("metadata: DocID %q, %v", v.DocID, v.CustomData)
	}
	if v.References != len(after)-2 || v.PageRef != "2" || v.Boundary != [4]float64{219, 134, 42, 42} || v.Provider != "certseal" {
		t.Errorf("verdict %+v", v)
	}
	sum := sm3.Sum(sigXML)
	p, err := seals.ParseSES(fileOf(after, "Doc_0/Signs/Sign_0/SignedValue.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.DataHash, sum[:]) || !bytes.Equal(v.DataHash, sum[:]) {
		t.Errorf("SES dataHash %x, verdict %x, SM3(Signature.xml) %x", p.DataHash, v.DataHash, sum)
	}

	// Signing again gives the same bytes except the SES signature value (SM2 is randomised).
	if _, err := seals.SignOFD(e.signed, sealOpts(e.pl, e.at, func(h []byte) ([]byte, error) { return e.g.SignSES(h, e.at, "x") })); certseal.ErrorCode(err) != certseal.EConflict {
		t.Errorf("signing a signed package: %v, want %s", err, certseal.EConflict)
	}
}

// TestSignOFDInjectedSigner signs through a bare gmsm SM2 key: the function is handed SM3 of
// the Signature.xml that ends up in the package, and its bytes are SignedValue.dat.
func TestSignOFDInjectedSigner(t *testing.T) {
	pkg, pl := unsignedOFD(t, 1)
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	signed, err := seals.SignOFD(pkg, sealOpts(pl, ofdCreated, func(h []byte) ([]byte, error) {
		got = append([]byte(nil), h...)
		return sm2.SignASN1(rand.Reader, key, h, nil)
	}))
	if err != nil {
		t.Fatal(err)
	}
	files := readZip(t, signed)
	sum := sm3.Sum(fileOf(files, "Doc_0/Signs/Sign_0/Signature.xml"))
	if !bytes.Equal(got, sum[:]) {
		t.Fatalf("signer got %x, SM3(Signature.xml) = %x", got, sum)
	}
	vs, err := seals.VerifyOFD(context.Background(), signed, func(der, h []byte) (bool, error) {
		return sm2.VerifyASN1(&key.PublicKey, h, der), nil
	})
	if err != nil || len(vs) != 1 || !vs[0].SES || !vs[0].Intact() {
		t.Fatalf("verify: %+v, %v", vs, err)
	}
	// A SignedValue.dat from another key does not verify.
	other, _ := sm2.GenerateKey(rand.Reader)
	vs, err = seals.VerifyOFD(context.Background(), signed, func(der, h []byte) (bool, error) {
		return sm2.VerifyASN1(&other.PublicKey, h, der), nil
	})
	if err != nil || vs[0].SES {
		t.Errorf("another key's check: %+v, %v", vs, err)
	}
	// The signer's error is returned, nothing is signed.
	if _, err := seals.SignOFD(pkg, sealOpts(pl, ofdCreated, func([]byte) ([]byte, error) { return nil, io.ErrUnexpectedEOF })); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("failing signer: %v", err)
	}
}

// TestVerifyOFDTampering changes every file of a signed package in turn, removes one, adds
// one and swaps SignedValue.dat, and checks that each is reported with the file's name.
func TestVerifyOFDTampering(t *testing.T) {
	e := newOFDEnv(t)
	files := readZip(t, e.signed)
	const sigName, valueName = "Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/SignedValue.dat"
	for i, f := range files {
		t.Run("change "+f.name, func(t *testing.T) {
			changed := slices.Clone(files)
			data := slices.Clone(f.data)
			// One byte changed in the middle of the file (a byte of the text for XML).
			data[len(data)/2] ^= 0x01
			if strings.HasSuffix(f.name, ".xml") {
				data = bytes.Replace(f.data, []byte("</"), []byte(" </"), 1)
			}
			changed[i] = zipFile{f.name, data}
			v, err := e.verify(t, writeZip(t, changed))
			if err != nil {
				if f.name == "OFD.xml" || f.name == "Doc_0/Signs/Signatures.xml" {
					return // no longer names the signature: EInvalid is the report
				}
				t.Fatal(err)
			}
			switch f.name {
			case sigName:
				if v.SES == nil || v.SES.OK || v.SES.Code != seals.SESHashMismatch {
					t.Errorf("changed Signature.xml: SES %+v", v.SES)
				}
			case valueName:
				if v.SES != nil && v.SES.OK {
					t.Errorf("changed SignedValue.dat: SES %+v", v.SES)
				}
			default:
				if !slices.Equal(v.Changed, []string{f.name}) || v.Intact() || len(v.Problems) == 0 {
					t.Errorf("changed %s: Changed %v, problems %v", f.name, v.Changed, v.Problems)
				}
			}
		})
	}
	t.Run("remove", func(t *testing.T) {
		var kept []zipFile
		for _, f := range files {
			if f.name != "Doc_0/Annotations.xml" {
				kept = append(kept, f)
			}
		}
		v, err := e.verify(t, writeZip(t, kept))
		if err != nil || !slices.Equal(v.Missing, []string{"Doc_0/Annotations.xml"}) || v.Intact() {
			t.Errorf("removed: %+v, %v", v, err)
		}
	})
	t.Run("add", func(t *testing.T) {
		v, err := e.verify(t, writeZip(t, append(slices.Clone(files), zipFile{"Doc_0/Res/extra.png", []byte("x")})))
		if err != nil || !slices.Equal(v.Added, []string{"Doc_0/Res/extra.png"}) || v.Intact() || !strings.Contains(strings.Join(v.Problems, " "), "extra.png") {
			t.Errorf("added: %+v, %v", v, err)
		}
	})
	t.Run("swap SignedValue", func(t *testing.T) {
		// The same package signed a minute later: its SES signs another Signature.xml.
		later := readZip(t, e.sign(t, e.unsigned, e.at.Add(time.Minute)))
		swapped := slices.Clone(files)
		for i, f := range swapped {
			if f.name == valueName {
				swapped[i].data = fileOf(later, valueName)
			}
		}
		v, err := e.verify(t, writeZip(t, swapped))
		if err != nil || v.SES == nil || v.SES.OK || v.SES.Code != seals.SESHashMismatch || !v.Intact() {
			t.Errorf("swapped SignedValue: %+v (SES %+v), %v", v, v.SES, err)
		}
	})
	t.Run("untouched", func(t *testing.T) {
		// Re-zipping alone (other compression, other times) changes nothing that is signed.
		v, err := e.verify(t, writeZip(t, files))
		if err != nil || !v.Intact() || !v.SES.OK {
			t.Errorf("re-zipped: %+v, %v", v, err)
		}
	})
}

// TestOFDOpenSSL: every Reference's CheckValue is `openssl dgst -sm3 -binary | base64` of its
// file, the SES_Signature's dataHash is `openssl dgst -sm3` of Signature.xml, and OpenSSL
// verifies the SES signature value over TBS_Sign with the seal certificate's SM2 key.
func TestOFDOpenSSL(t *testing.T) {
	fixtures.NeedTool(t, "openssl", "openssl")
	e := newOFDEnv(t)
	dir := t.TempDir()
	files := readZip(t, e.signed)
	sigXML := fileOf(files, "Doc_0/Signs/Sign_0/Signature.xml")
	refs := regexp.MustCompile(`<ofd:Reference FileRef="/([^"]+)"><ofd:CheckValue>([^<]+)</ofd:CheckValue>`).FindAllSubmatch(sigXML, -1)
	if len(refs) != len(files)-2 {
		t.Fatalf("%d References for %d files", len(refs), len(files))
	}
	for i, r := range refs {
		f := writeFile(t, dir, "ref"+string(rune('a'+i%26))+".bin", fileOf(files, string(r[1])))
		out, ok := openssl(t, "dgst", "-sm3", "-binary", "-out", f+".sm3", f)
		if !ok {
			t.Fatalf("openssl dgst: %s", out)
		}
		sum, err := os.ReadFile(f + ".sm3")
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(sum); got != string(r[2]) {
			t.Errorf("%s: CheckValue %s, openssl %s", r[1], r[2], got)
		}
	}
	out, ok := openssl(t, "dgst", "-sm3", "-r", writeFile(t, dir, "Signature.xml", sigXML))
	if !ok {
		t.Fatal(out)
	}
	p, err := seals.ParseSES(fileOf(files, "Doc_0/Signs/Sign_0/SignedValue.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out)[0]; got != hex.EncodeToString(p.DataHash) {
		t.Errorf("openssl dgst -sm3 Signature.xml = %s, SES dataHash %x", got, p.DataHash)
	}
	if out, ok := pkeyVerify(t, dir, pubPEMOf(t, p.Cert), p.TBSDER(), p.Signature); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of the SES_Signature:\n%s", out)
	}
}

// TestVerifyOFDLimits feeds the verifier packages that break its limits or the ZIP rules.
func TestVerifyOFDLimits(t *testing.T) {
	noSES := func(der, h []byte) (bool, error) { return true, nil }
	ctx := context.Background()
	rawZip := func(add func(zw *zip.Writer)) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		add(zw)
		zw.Close()
		return buf.Bytes()
	}
	many := rawZip(func(zw *zip.Writer) {
		for i := 0; i <= seals.MaxOFDEntries; i++ {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: "f/" + strings.Repeat("a", i%50) + string(rune('A'+i%26)) + string(rune('0'+i/26%10)) + string(rune('a'+i/260)), Method: zip.Store})
			w.Write([]byte("x"))
		}
	})
	bomb := rawZip(func(zw *zip.Writer) {
		w, _ := zw.Create("OFD.xml")
		zero := make([]byte, 1<<20)
		for i := 0; i < (seals.MaxOFDFileSize>>20)+1; i++ {
			w.Write(zero)
		}
	})
	// An entry that inflates to more than it declares.
	liar := rawZip(func(zw *zip.Writer) {
		var c bytes.Buffer
		data := bytes.Repeat([]byte("<a/>"), 1<<16)
		cw, _ := flate.NewWriter(&c, flate.BestSpeed)
		cw.Write(data)
		cw.Close()
		w, _ := zw.CreateRaw(&zip.FileHeader{Name: "OFD.xml", Method: zip.Deflate, CompressedSize64: uint64(c.Len()), UncompressedSize64: 10, CRC32: 0})
		w.Write(c.Bytes())
	})
	dup := rawZip(func(zw *zip.Writer) {
		for range 2 {
			w, _ := zw.Create("OFD.xml")
			w.Write([]byte("<a/>"))
		}
	})
	evil := rawZip(func(zw *zip.Writer) {
		w, _ := zw.Create("../OFD.xml")
		w.Write([]byte("<a/>"))
	})
	cases := map[string]struct {
		pkg  []byte
		code string
	}{
		"not a zip":   {[]byte("PK\x03\x04 not really"), certseal.EInvalid},
		"empty":       {nil, certseal.EInvalid},
		"too many":    {many, certseal.EInvalid},
		"bomb":        {bomb, certseal.EInvalid},
		"liar":        {liar, certseal.EInvalid},
		"duplicate":   {dup, certseal.EInvalid},
		"outside":     {evil, certseal.EInvalid},
		"unsigned":    {func() []byte { p, _ := unsignedOFD(t, 0); return p }(), certseal.EInvalid},
		"too large":   {make([]byte, seals.MaxOFDSize+1), certseal.EInvalid},
		"no OFD.xml":  {rawZip(func(zw *zip.Writer) { w, _ := zw.Create("a.xml"); w.Write([]byte("<a/>")) }), certseal.EInvalid},
		"bad OFD.xml": {rawZip(func(zw *zip.Writer) { w, _ := zw.Create("OFD.xml"); w.Write([]byte("<ofd:OFD")) }), certseal.EInvalid},
		"sign outside": {rawZip(func(zw *zip.Writer) {
			w, _ := zw.Create("OFD.xml")
			w.Write([]byte(`<OFD xmlns="http://www.ofdspec.org/2016"><DocBody><Signatures>/../../etc/passwd</Signatures></DocBody></OFD>`))
		}), certseal.EInvalid},
		"sign missing": {rawZip(func(zw *zip.Writer) {
			w, _ := zw.Create("OFD.xml")
			w.Write([]byte(`<OFD xmlns="http://www.ofdspec.org/2016"><DocBody><Signatures>S.xml</Signatures></DocBody></OFD>`))
		}), certseal.EInvalid},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := seals.VerifyOFD(ctx, c.pkg, noSES)
			if got := certseal.ErrorCode(err); got != c.code {
				t.Errorf("error %v (code %q), want code %q", err, got, c.code)
			}
			if name == "unsigned" {
				return // SignOFD's very input
			}
			if _, err := seals.SignOFD(c.pkg, seals.OFDSignOptions{Sign: func([]byte) ([]byte, error) { return nil, nil }, Time: ofdCreated, Diameter: 42}); err == nil {
				t.Error("SignOFD accepted it")
			}
		})
	}
	// A context that has ended stops the reading.
	signed, err := seals.SignOFD(func() []byte { p, _ := unsignedOFD(t, 0); return p }(), seals.OFDSignOptions{
		Sign: func([]byte) ([]byte, error) { return []byte("sig"), nil }, Time: ofdCreated, Diameter: 42})
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := seals.VerifyOFD(done, signed, noSES); certseal.ErrorCode(err) != certseal.EUnavailable {
		t.Errorf("ended context: %v", err)
	}
}

// TestOFDJSSignature opens the sealed OFD in ofd.js (testdata/ofdjs): ofd.js finds the
// signature, verifies the SES_Signature's SM2 value (VerifyRet) and every Reference digest,
// and draws the SESeal's picture 42 mm wide over the seal's place. A package with a changed
// page fails ofd.js's digest check. With -update the screenshot is docs/certificate-ofd.png.
func TestOFDJSSignature(t *testing.T) {
	e := newOFDEnv(t)
	const width = 1123
	shot, res := fixtures.RenderOFD(t, e.signed, width)
	if len(res.Signatures) != 1 {
		t.Fatalf("ofd.js found %d signatures; its console: %q", len(res.Signatures), res.Logs)
	}
	s := res.Signatures[0]
	if !s.VerifyRet || s.DigestOK == nil || !*s.DigestOK || s.Method != seals.OFDSignatureMethod || s.References != len(readZip(t, e.signed))-2 {
		t.Errorf("ofd.js on the signature: %+v", s)
	}
	pxPerMM := res.Width / e.pl.PageWidth
	box := [4]float64{(e.pl.X - e.pl.Diameter/2) * pxPerMM, (e.pl.Y - e.pl.Diameter/2) * pxPerMM, e.pl.Diameter * pxPerMM, e.pl.Diameter * pxPerMM}
	for i := range box {
		if math.Abs(s.Box[i]-box[i]) > 2 {
			t.Errorf("ofd.js draws the seal at %v px, want %v (%g mm at %.2f px/mm)", s.Box, box, e.pl.Diameter, pxPerMM)
			break
		}
	}
	// Seal red inside the seal's box.
	red := 0
	for y := int(box[1]); y < int(box[1]+box[3]); y++ {
		for x := int(box[0]); x < int(box[0]+box[2]); x++ {
			r, g, b, _ := shot.At(x, y).RGBA()
			if r > 0xb000 && g < 0x6000 && b < 0x6000 {
				red++
			}
		}
	}
	if red < int(box[2]*box[3]/20) {
		t.Errorf("%d seal-red pixels in the seal's box of %.0f px², want a drawn seal", red, box[2]*box[3])
	}
	// The text under the seal (发证机关, the date) stays legible: against the unsigned page, the
	// dark pixels of the seal's box are still dark, and blank paper turned seal-red.
	plain, _ := fixtures.RenderOFD(t, e.unsigned, width)
	area := image.Rect(int(box[0]), int(box[1]), int(box[0]+box[2]), int(box[1]+box[3]))
	ink := fixtures.SealInk(plain, shot, area, nil)
	if ink.Dark < 200 || float64(ink.KeptDark) < 0.9*float64(ink.Dark) || ink.Red < red/2 {
		t.Errorf("under the seal: %+v (want >= 90%% of the %d dark pixels kept dark)", ink, ink.Dark)
	}
	t.Logf("seal box %v px, %d red pixels, text under it %d/%d dark pixels kept", s.Box, red, ink.KeptDark, ink.Dark)
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, shot); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "certificate-ofd.png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	files := readZip(t, e.signed)
	for i, f := range files {
		if f.name == "Doc_0/Pages/Page_0/Content.xml" {
			files[i].data = bytes.Replace(f.data, []byte("广元市"), []byte("广州市"), 1)
		}
	}
	_, res = fixtures.RenderOFD(t, writeZip(t, files), width)
	if len(res.Signatures) != 1 || res.Signatures[0].DigestOK == nil || *res.Signatures[0].DigestOK {
		t.Errorf("ofd.js on a changed page: %+v", res.Signatures)
	}
}

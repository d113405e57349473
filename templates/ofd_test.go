package templates_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/font/sfnt"

	"certseal/internal/fixtures"
	"certseal/templates"
)

// foodOFD lays out fixture i on the food licence and writes it as OFD (and as PDF).
func foodOFD(t testing.TB, i int) (plan *templates.Plan, ofd []byte) {
	t.Helper()
	f := loadFixtures(t)[i]
	p, err := templates.NewRenderer().Layout(food(t), f.doc())
	if err != nil {
		t.Fatal(err)
	}
	w := templates.OFDWriter{Author: "广元市利州区行政审批局", Licence: &templates.LicenceMetadata{
		Identifier: "1.2.156.3005.2.11510802MB1234567X.JY15108020012345.001.M", Number: f.LicenceNumber,
		Name: "食品经营许可证", Issuer: "广元市利州区行政审批局", Holder: f.Fields["经营者名称"], IssueDate: "2024-04-16",
	}}
	ofd, err = w.Write(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, ofd
}

// unzipAll returns the files of a ZIP by name, failing t if it does not read.
func unzipAll(t testing.TB, pkg []byte) (names []string, files map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files
}

// TestOFDPackage checks the package's parts: the files GB/T 33190 asks for, every XML part
// well-formed with its root in the OFD namespace, the DocInfo and the licence metadata.
func TestOFDPackage(t *testing.T) {
	_, pkg := foodOFD(t, 0)
	names, files := unzipAll(t, pkg)
	for _, want := range []string{"OFD.xml", "Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/DocumentRes.xml",
		"Doc_0/Annotations.xml", "Doc_0/Pages/Page_0/Content.xml", "Doc_0/Tags/CustomTags.xml", "Doc_0/Tags/Licence.xml"} {
		if files[want] == nil {
			t.Errorf("package lacks %s; has %v", want, names)
		}
	}
	if names[0] != "OFD.xml" {
		t.Errorf("first entry %s, want OFD.xml", names[0])
	}
	fontFiles := 0
	for _, n := range names {
		if strings.HasPrefix(n, "Doc_0/Res/") && strings.HasSuffix(n, ".ttf") {
			fontFiles++
			if _, err := sfnt.Parse(files[n]); err != nil {
				t.Errorf("%s does not parse as a font: %v", n, err)
			}
		}
		if !strings.HasSuffix(n, ".xml") {
			continue
		}
		d := xml.NewDecoder(bytes.NewReader(files[n]))
		root := true
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s is not well-formed XML: %v", n, err)
			}
			if se, ok := tok.(xml.StartElement); ok && root {
				root = false
				want := templates.OFDNamespace
				if n == "Doc_0/Tags/Licence.xml" {
					want = templates.LicenceNamespace
				}
				if se.Name.Space != want {
					t.Errorf("%s: root %s in namespace %q, want %q", n, se.Name.Local, se.Name.Space, want)
				}
			}
		}
	}
	if fontFiles != 1 {
		t.Errorf("%d font files, want 1", fontFiles)
	}
	var top struct {
		DocBody struct {
			DocInfo struct {
				DocID, Title, Author, CreationDate string
				CustomDatas                        struct {
					CustomData []struct {
						Name  string `xml:"Name,attr"`
						Value string `xml:",chardata"`
					}
				}
			}
			DocRoot string
		}
	}
	if err := xml.Unmarshal(files["OFD.xml"], &top); err != nil {
		t.Fatal(err)
	}
	info := top.DocBody.DocInfo
	if len(info.DocID) != 32 || info.Title != "食品经营许可证" || info.Author != "广元市利州区行政审批局" || info.CreationDate != "2024-04-16" {
		t.Errorf("DocInfo = %+v", info)
	}
	if top.DocBody.DocRoot != "Doc_0/Document.xml" {
		t.Errorf("DocRoot %q", top.DocBody.DocRoot)
	}
	number := ""
	for _, c := range info.CustomDatas.CustomData {
		if c.Name == "证照编号" {
			number = c.Value
		}
	}
	if want := loadFixtures(t)[0].LicenceNumber; number != want {
		t.Errorf("CustomData 证照编号 = %q, want %q", number, want)
	}
	if !bytes.Contains(files["Doc_0/Tags/Licence.xml"], []byte(`<Number Name="证照编号">`+number+`</Number>`)) {
		t.Errorf("Licence.xml lacks the number: %s", files["Doc_0/Tags/Licence.xml"])
	}
	if !bytes.Contains(files["Doc_0/Document.xml"], []byte("<ofd:PhysicalBox>0 0 297 210</ofd:PhysicalBox>")) {
		t.Errorf("Document.xml lacks the landscape A4 PhysicalBox: %s", files["Doc_0/Document.xml"])
	}
}

// TestOFDDeterministic checks that the same plan gives the same bytes, and another record
// other bytes.
func TestOFDDeterministic(t *testing.T) {
	_, a := foodOFD(t, 0)
	_, b := foodOFD(t, 0)
	_, c := foodOFD(t, 1)
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same plan differ")
	}
	if bytes.Equal(a, c) {
		t.Error("two records give the same package")
	}
}

// ofdText is a TextObject read back from Content.xml.
type ofdText struct {
	Boundary string `xml:"Boundary,attr"`
	Font     string `xml:"Font,attr"`
	Size     string `xml:"Size,attr"`
	Code     struct {
		X      string `xml:"X,attr"`
		Y      string `xml:"Y,attr"`
		DeltaX string `xml:"DeltaX,attr"`
		Text   string `xml:",chardata"`
	} `xml:"TextCode"`
}

func nums(t testing.TB, s string) []float64 {
	t.Helper()
	var out []float64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("number %q in %q: %v", f, s, err)
		}
		out = append(out, v)
	}
	return out
}

// TestOFDTextPositions reads the TextObjects back: every run of the plan is there, in order,
// as selectable text (TextCode) at the plan's baseline, with one DeltaX per character gap that
// adds up to the run's width as the PDF sets it.
func TestOFDTextPositions(t *testing.T) {
	p, pkg := foodOFD(t, 3)
	_, files := unzipAll(t, pkg)
	var page struct {
		Layer struct {
			Text []ofdText `xml:"TextObject"`
			Path []struct {
				Boundary string `xml:"Boundary,attr"`
			} `xml:"PathObject"`
		} `xml:"Content>Layer"`
	}
	if err := xml.Unmarshal(files["Doc_0/Pages/Page_0/Content.xml"], &page); err != nil {
		t.Fatal(err)
	}
	texts := page.Layer.Text
	if len(texts) != len(p.Runs) {
		t.Fatalf("%d TextObjects, want %d (one per run: the food fixtures need no fallback font)", len(texts), len(p.Runs))
	}
	for i, run := range p.Runs {
		o := texts[i]
		if o.Code.Text != run.Text {
			t.Errorf("TextObject %d: %q, want %q", i, o.Code.Text, run.Text)
			continue
		}
		b := nums(t, o.Boundary)
		x := b[0] + nums(t, o.Code.X)[0]
		y := b[1] + nums(t, o.Code.Y)[0]
		if math.Abs(x-run.X) > 0.002 || math.Abs(y-run.Y) > 0.002 {
			t.Errorf("%q at %.3f,%.3f, want %.3f,%.3f", run.Text, x, y, run.X, run.Y)
		}
		if size := nums(t, o.Size)[0]; math.Abs(size-run.Size*25.4/72) > 0.001 {
			t.Errorf("%q size %.3f mm, want %.3f", run.Text, size, run.Size*25.4/72)
		}
		n := len([]rune(run.Text))
		dx := nums(t, o.Code.DeltaX)
		if len(dx) != n-1 {
			t.Errorf("%q: %d DeltaX for %d characters", run.Text, len(dx), n)
		}
		for _, d := range dx {
			if d <= 0 || d > p.Width/2 {
				t.Errorf("%q: DeltaX %v", run.Text, dx)
				break
			}
		}
	}
	// Shapes and the QR code are PathObjects: the food licence has a border, lines, the emblem.
	if want := len(p.Shapes) + 1; len(page.Layer.Path) != want {
		t.Errorf("%d PathObjects, want %d (shapes and the QR code)", len(page.Layer.Path), want)
	}
}

// TestOFDOutsideTools: unzip -t and xmllint (libxml2) accept the package and every XML part.
func TestOFDOutsideTools(t *testing.T) {
	unzip := fixtures.NeedTool(t, "unzip", "unzip")
	xmllint := fixtures.NeedTool(t, "xmllint", "libxml2-utils")
	_, pkg := foodOFD(t, 0)
	dir := t.TempDir()
	file := filepath.Join(dir, "licence.ofd")
	if err := os.WriteFile(file, pkg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(unzip, "-t", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	names, files := unzipAll(t, pkg)
	for _, n := range names {
		if !strings.HasSuffix(n, ".xml") {
			continue
		}
		f := filepath.Join(dir, strings.ReplaceAll(n, "/", "_"))
		if err := os.WriteFile(f, files[n], 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", f).CombinedOutput(); err != nil {
			t.Errorf("xmllint %s: %v\n%s", n, err, out)
		}
	}
}

// TestOFDWriterConcurrent writes one plan as OFD from several goroutines at once (the deflate
// writers come from a pool): every package has the same bytes. .ci/run runs it under -race.
func TestOFDWriterConcurrent(t *testing.T) {
	p, want := foodOFD(t, 2)
	w := templates.OFDWriter{Author: "广元市利州区行政审批局", Licence: &templates.LicenceMetadata{
		Identifier: "1.2.156.3005.2.11510802MB1234567X.JY15108020012345.001.M", Number: loadFixtures(t)[2].LicenceNumber,
		Name: "食品经营许可证", Issuer: "广元市利州区行政审批局", Holder: loadFixtures(t)[2].Fields["经营者名称"], IssueDate: "2024-04-16",
	}}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := w.Write(p)
			if err == nil && !bytes.Equal(got, want) {
				err = io.ErrShortWrite
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent write: %v (%v means other bytes)", err, io.ErrShortWrite)
		}
	}
}

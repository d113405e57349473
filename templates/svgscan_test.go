package templates_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"certseal"
	"certseal/templates"
)

func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParseScan: PNG and JPEG pictures are re-encoded in their own format, trailing data is
// dropped, and what is not a picture, too small or too large is refused with a Chinese
// message, the size checked from the header before anything is decoded.
func TestParseScan(t *testing.T) {
	p := pngOf(t, 120, 80)
	sc, err := templates.ParseScan(append(append([]byte{}, p...), []byte("<script>alert(1)</script>")...))
	if err != nil {
		t.Fatal(err)
	}
	if sc.MIME != "image/png" || sc.Width != 120 || sc.Height != 80 || len(sc.SHA256) != 64 || bytes.Contains(sc.Data, []byte("<script")) {
		t.Fatalf("scan %s %dx%d %d bytes", sc.MIME, sc.Width, sc.Height, len(sc.Data))
	}
	if _, err := png.Decode(bytes.NewReader(sc.Data)); err != nil {
		t.Fatalf("the stored PNG does not decode: %v", err)
	}
	var j bytes.Buffer
	img, _ := png.Decode(bytes.NewReader(p))
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	if sc, err := templates.ParseScan(j.Bytes()); err != nil || sc.MIME != "image/jpeg" {
		t.Fatalf("JPEG: %+v %v", sc.MIME, err)
	}
	// A PNG header claiming 5000 × 5000 pixels is refused from the header alone.
	huge := pngOf(t, 60, 60)
	huge[16], huge[17], huge[18], huge[19] = 0, 0, 0x13, 0x88 // width 5000
	huge[20], huge[21], huge[22], huge[23] = 0, 0, 0x13, 0x88 // height 5000
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29]))
	for name, c := range map[string]struct {
		data []byte
		code string
		msg  string
	}{
		"empty":    {nil, certseal.EInvalid, "没有上传"},
		"pdf":      {[]byte("%PDF-1.7\n..."), certseal.EInvalid, "PNG 或 JPEG"},
		"gif":      {[]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), certseal.EInvalid, "PNG 或 JPEG"},
		"tiny":     {pngOf(t, 10, 10), certseal.EInvalid, "太小"},
		"huge":     {huge, certseal.ETooLarge, "过大"},
		"too long": {make([]byte, templates.MaxScanUpload+1), certseal.ETooLarge, "上限"},
		"cut":      {p[:len(p)/2], certseal.EInvalid, "损坏"},
	} {
		_, err := templates.ParseScan(c.data)
		if certseal.ErrorCode(err) != c.code || !bytes.Contains([]byte(certseal.ErrorMessage(err)), []byte(c.msg)) {
			t.Errorf("%s: %v, want %s with %q", name, err, c.code, c.msg)
		}
	}
}

// FuzzParseScan: any upload is a scan that decodes as what it claims, or an EInvalid or
// ETooLarge error; never a panic.
func FuzzParseScan(f *testing.F) {
	f.Add(pngOf(f, 60, 60))
	var j bytes.Buffer
	img, _ := png.Decode(bytes.NewReader(pngOf(f, 60, 60)))
	jpeg.Encode(&j, img, nil) //nolint:errcheck // a bytes.Buffer does not fail
	f.Add(j.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := templates.ParseScan(data)
		if err != nil {
			if c := certseal.ErrorCode(err); c != certseal.EInvalid && c != certseal.ETooLarge {
				t.Fatalf("error %v", err)
			}
			return
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(sc.Data))
		if err != nil || "image/"+format != sc.MIME || cfg.Width != sc.Width || cfg.Height != sc.Height {
			t.Fatalf("stored %s %dx%d reads as %s %dx%d (%v)", sc.MIME, sc.Width, sc.Height, format, cfg.Width, cfg.Height, err)
		}
	})
}

// TestScanStore: a scan is stored once, audited, and linked to the template version uploaded
// with it in the same transaction; a version uploaded with an unknown scan is not stored.
func TestScanStore(t *testing.T) {
	st, _, _ := openStore(t)
	ctx := context.Background()
	actor := certseal.Actor{Username: "scj", Role: certseal.RoleDeptOfficer}
	sc, err := st.PutScan(ctx, actor, pngOf(t, 100, 140))
	if err != nil {
		t.Fatal(err)
	}
	again, err := st.PutScan(ctx, actor, pngOf(t, 100, 140))
	if err != nil || again.SHA256 != sc.SHA256 {
		t.Fatalf("the same picture again: %+v %v", again, err)
	}
	src, _ := templates.BuiltinJSON("generic-licence")
	var m map[string]any
	json.Unmarshal(src, &m) //nolint:errcheck // a built-in template
	m["id"], m["version"] = "scan-test", 0
	body, _ := json.Marshal(m)
	if _, err := st.UploadWithScan(ctx, actor, body, "00"+sc.SHA256[2:]); certseal.ErrorCode(err) != certseal.ENotFound {
		t.Fatalf("upload with an unknown scan: %v", err)
	}
	if _, err := st.Get(ctx, "scan-test", 0); certseal.ErrorCode(err) != certseal.ENotFound {
		t.Fatalf("the version of the failed upload was stored: %v", err)
	}
	rec, err := st.UploadWithScan(ctx, actor, body, sc.SHA256)
	if err != nil || rec.Version != 1 {
		t.Fatalf("upload: %+v %v", rec, err)
	}
	got, err := st.ScanOf(ctx, "scan-test", 0)
	if err != nil || got.SHA256 != sc.SHA256 || len(got.Data) == 0 || got.By != "scj" {
		t.Fatalf("ScanOf: %+v %v", got.SHA256, err)
	}
	if _, err := st.ScanOf(ctx, "generic-licence", 0); certseal.ErrorCode(err) != certseal.ENotFound {
		t.Fatalf("a template without a scan: %v", err)
	}
}

// TestProblemsAll: every box problem of a template comes back at once (Validate stops at the
// first), each naming its boxes as Validate does; a valid template has none.
func TestProblemsAll(t *testing.T) {
	tpl := food(t)
	if ps, err := templates.Problems(tpl); err != nil || ps != nil {
		t.Fatalf("the food licence: %v %v", ps, err)
	}
	c := *tpl
	c.Fields = append([]templates.Field(nil), tpl.Fields...)
	w, _ := tpl.PageSize()
	c.Fields[0].Box = c.Fields[1].Box           // overlaps field 1 (and whatever field 1 overlaps)
	c.Fields[2].Box.X = w - c.Fields[2].Box.W/2 // off the page
	ps, err := templates.Problems(&c)
	if err != nil {
		t.Fatal(err)
	}
	var overlap, off bool
	for _, p := range ps {
		if p.Box == "字段“"+c.Fields[0].Name+"”" && p.OtherBox == "字段“"+c.Fields[1].Name+"”" {
			overlap = true
		}
		if p.Box == "字段“"+c.Fields[2].Name+"”" && bytes.Contains([]byte(p.Message), []byte("超出页面")) {
			off = true
		}
		if p.Code != certseal.EInvalid || p.Message == "" {
			t.Errorf("problem %+v", p)
		}
	}
	if !overlap || !off || len(ps) < 2 {
		t.Fatalf("problems %+v", ps)
	}
	if err := c.Validate(); err == nil {
		t.Fatal("Validate accepted it")
	}
}

// FuzzProblems: for any template JSON the designer sends, Problems never panics, reports nothing
// exactly when Validate accepts the template, gives at most MaxProblems, each with a message
// and the EInvalid code, and the SVG writer draws whatever lays out.
func FuzzProblems(f *testing.F) {
	for _, t := range templates.Builtin() {
		b, _ := templates.BuiltinJSON(t.ID)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","version":1,"name":"n","page":{"width":100,"height":100},"fields":[{"name":"a","type":"text","box":{"x":1,"y":1,"w":50,"h":10}},{"name":"b","type":"text","box":{"x":2,"y":2,"w":50,"h":10}}],"seal":{"x":50,"y":50,"diameter":30}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := templates.Decode(data)
		if err != nil {
			return
		}
		if tp.Version == 0 {
			tp.Version = 1
		}
		ps, err := templates.Problems(tp)
		if err != nil {
			t.Fatalf("Problems: %v", err)
		}
		if len(ps) > templates.MaxProblems+1 {
			t.Fatalf("%d problems", len(ps))
		}
		for _, p := range ps {
			if p.Message == "" || p.Code != certseal.EInvalid {
				t.Fatalf("problem %+v", p)
			}
		}
		valid := tp.Validate() == nil
		if valid != (len(ps) == 0) {
			t.Fatalf("Validate says %v, Problems %+v", valid, ps)
		}
		if valid {
			if p, err := templates.NewRenderer().Layout(tp, tp.SampleDocument()); err == nil {
				if _, err := (templates.SVGWriter{Boxes: tp.Boxes()}).Write(p); err != nil {
					t.Fatalf("SVG: %v", err)
				}
			}
		}
	})
}

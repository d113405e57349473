package server_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/templates"
)

func init() {
	expect(map[string]string{"calibration.sheet": "ABC", "orgs.print_offset": "ABC"})
}

func scanPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 420, 594))
	for i := range img.Pix {
		img.Pix[i] = 0xf0
	}
	img.Set(10, 10, color.Gray{0})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func postImage(t *testing.T, e *testenv.Env, user, ct string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/template-scans", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+e.Tokens[user])
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// TestDesignerAPI: a city department officer stores a blank form's scan, checks a template with
// two problems (both reported, each naming its boxes), previews a draft as SVG, uploads it with
// the scan, and may not version a template another department's licence type prints from; the
// stored version's SVG preview draws the scan.
func TestDesignerAPI(t *testing.T) {
	e := testenv.Start(t)
	if st, body := postImage(t, e, "scj", "image/gif", scanPNG(t)); st != http.StatusUnsupportedMediaType {
		t.Fatalf("a GIF content type: %d %s", st, body)
	}
	st, body := postImage(t, e, "scj", "image/png", scanPNG(t))
	if st != http.StatusCreated {
		t.Fatalf("scan upload: %d %s", st, body)
	}
	var sc templates.Scan
	json.Unmarshal(body, &sc) //nolint:errcheck // checked below
	if len(sc.SHA256) != 64 || sc.Width != 420 || sc.MIME != "image/png" {
		t.Fatalf("scan %s", body)
	}
	r := e.Must(200, "GET", "/api/v1/template-scans/"+sc.SHA256, "lizhou-clerk", nil)
	if r.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(r.Body, []byte("\x89PNG")) {
		t.Fatalf("scan read back: %s", r.Header.Get("Content-Type"))
	}

	tpl := func(edit func(m map[string]any)) []byte {
		return templateJSON(t, "generic-licence", func(m map[string]any) {
			m["id"] = "scj-new-form"
			delete(m, "version")
			if edit != nil {
				edit(m)
			}
		})
	}
	bad := tpl(func(m map[string]any) {
		fs := m["fields"].([]any)
		f0, f1, f2 := fs[0].(map[string]any), fs[1].(map[string]any), fs[2].(map[string]any)
		f0["box"] = f1["box"]
		f2["box"].(map[string]any)["x"] = 500.0
	})
	var check struct {
		OK       bool
		Problems []templates.Problem
		Boxes    []templates.NamedBox
	}
	e.Must(200, "POST", "/api/v1/template-checks", "scj", bad).Decode(t, &check)
	if check.OK || len(check.Problems) < 2 {
		t.Fatalf("check: %+v", check)
	}
	marked := 0
	for _, b := range check.Boxes {
		if b.Marked {
			marked++
		}
	}
	if marked < 3 || check.Problems[0].Box == "" || !strings.Contains(check.Problems[0].Message, "模板“scj-new-form”") {
		t.Errorf("%d boxes marked; problems %+v", marked, check.Problems)
	}
	if r := e.Do("POST", "/api/v1/template-previews", "scj", map[string]any{"template": json.RawMessage(bad)}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("draft preview of a bad template: %d", r.Status)
	}
	r = e.Must(200, "POST", "/api/v1/template-previews", "scj", map[string]any{"template": json.RawMessage(tpl(nil)), "scan": sc.SHA256, "boxes": true})
	if r.Header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(r.Body, []byte(`class="scan"`)) || !bytes.Contains(r.Body, []byte(`class="box"`)) {
		t.Fatalf("draft preview: %s %.200s", r.Header.Get("Content-Type"), r.Body)
	}

	e.Must(403, "POST", "/api/v1/templates", "lizhou-officer", tpl(nil))
	e.Must(403, "POST", "/api/v1/templates", "scj", templateJSON(t, "construction-permit", func(m map[string]any) { delete(m, "version"); m["color"] = "#1a1a8b" }))
	e.Must(201, "POST", "/api/v1/templates", "scj", templateJSON(t, "generic-licence", func(m map[string]any) { delete(m, "version"); m["color"] = "#1a1a8b" }))
	e.Must(404, "POST", "/api/v1/templates?scan="+strings.Repeat("0", 64), "scj", tpl(nil))
	e.Must(201, "POST", "/api/v1/templates?scan="+sc.SHA256, "scj", tpl(nil))
	r = e.Must(200, "POST", "/api/v1/templates/scj-new-form/preview?format=svg", "lizhou-clerk", map[string]any{"scan": true})
	if r.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") ||
		!bytes.Contains(r.Body, []byte(`class="scan"`)) || !bytes.Contains(r.Body, []byte("data:image/png;base64,")) {
		t.Fatalf("stored preview: %s %s", r.Header.Get("Content-Type"), r.Header.Get("Content-Security-Policy"))
	}
	e.Must(400, "POST", "/api/v1/templates/scj-new-form/preview?format=png", "lizhou-clerk", map[string]any{})
}

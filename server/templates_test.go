package server_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/templates"
)

func init() {
	expect(map[string]string{
		"templates.list": "ADBCU", "templates.get": "ADBCU", "templates.versions": "ADBCU",
		"templates.upload":  "AD",
		"templates.preview": "ADBC",
		"templates.check":   "AD", "templates.draft_preview": "AD",
		"templates.scans.upload": "AD", "templates.scans.get": "ADBC",
	})
}

// templateJSON returns a built-in template's JSON changed by edit.
func templateJSON(t *testing.T, id string, edit func(m map[string]any)) []byte {
	t.Helper()
	src, ok := templates.BuiltinJSON(id)
	if !ok {
		t.Fatalf("no built-in template %s", id)
	}
	var m map[string]any
	if err := json.Unmarshal(src, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTemplateUploadAndVersions(t *testing.T) {
	e := testenv.Start(t)
	const id = "food-business-licence"
	var list struct{ Items []templates.Record }
	e.Must(200, "GET", "/api/v1/templates", "lizhou-clerk", nil).Decode(t, &list)
	if len(list.Items) != 4 || !list.Items[0].Builtin || list.Items[0].Template != nil {
		t.Fatalf("list: got %+v, want the 4 built-ins without their templates", list.Items)
	}

	body := templateJSON(t, id, func(m map[string]any) { delete(m, "version"); m["color"] = "#1a1a8b" })
	r := e.Must(201, "POST", "/api/v1/templates", "admin", body)
	var rec templates.Record
	r.Decode(t, &rec)
	if rec.Version != 2 || rec.CreatedBy != "admin" || rec.Template == nil || rec.Template.Color != "#1a1a8b" {
		t.Fatalf("upload: got %+v, want version 2 by admin", rec)
	}
	if loc := r.Header.Get("Location"); loc != "/api/v1/templates/"+id+"?version=2" {
		t.Errorf("Location: got %q", loc)
	}
	var latest, v1 templates.Record
	e.Must(200, "GET", "/api/v1/templates/"+id, "auditor", nil).Decode(t, &latest)
	if latest.Version != 2 || latest.Template.Version != 2 {
		t.Errorf("latest: got version %d", latest.Version)
	}
	e.Must(200, "GET", "/api/v1/templates/"+id+"?version=1", "lizhou-clerk", nil).Decode(t, &v1)
	if v1.Version != 1 || !v1.Builtin || v1.Template.Color != "" || !v1.CreatedAt.IsZero() {
		t.Errorf("version 1: got %+v, want the built-in", v1)
	}
	e.Must(200, "GET", "/api/v1/templates/"+id+"/versions", "scj", nil).Decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].Version != 1 || list.Items[1].Version != 2 {
		t.Errorf("versions: got %+v", list.Items)
	}
	e.Must(404, "GET", "/api/v1/templates/"+id+"?version=3", "admin", nil)
	e.Must(400, "GET", "/api/v1/templates/"+id+"?version=x", "admin", nil)
	e.Must(404, "GET", "/api/v1/templates/nope/versions", "admin", nil)

	// Uploading the same layout again, or with a stale version, is a conflict.
	e.Must(409, "POST", "/api/v1/templates", "admin", body)
	e.Must(409, "POST", "/api/v1/templates", "admin", templateJSON(t, id, func(m map[string]any) { m["version"] = 2; m["color"] = "#000001" }))

	// The upload is in the audit log.
	audit := e.Must(200, "GET", "/api/v1/audit?action=template.upload", "auditor", nil).JSON(t)
	if n := len(audit["items"].([]any)); n != 1 {
		t.Errorf("audit: %d template.upload events, want 1", n)
	}
}

// TestTemplateUploadRefused checks that bad templates get a 400 with a Chinese message naming
// the boxes, and that nothing at all is written.
func TestTemplateUploadRefused(t *testing.T) {
	e := testenv.Start(t)
	field := func(m map[string]any, i int) map[string]any { return m["fields"].([]any)[i].(map[string]any) }
	cases := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"overlapping boxes", templateJSON(t, "generic-licence", func(m map[string]any) {
			field(m, 2)["box"].(map[string]any)["y"] = field(m, 1)["box"].(map[string]any)["y"]
		}), 400, "区域重叠"},
		{"box off the page", templateJSON(t, "generic-licence", func(m map[string]any) { field(m, 1)["box"].(map[string]any)["y"] = 290 }), 400, "超出页面"},
		{"unknown key", templateJSON(t, "generic-licence", func(m map[string]any) { m["colour"] = "#000000" }), 400, "JSON"},
		{"empty body", "", 400, "请求体为空"},
		{"too large", `{"id":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "上限"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.Snapshot()
			r := e.Do("POST", "/api/v1/templates", "admin", c.body)
			if r.Status != c.status {
				t.Fatalf("got %d, want %d\n%.300s", r.Status, c.status, r.Body)
			}
			msg, _ := r.JSON(t)["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not say %q", msg, c.want)
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Error("a refused upload changed the database")
			}
		})
	}
	// The overlap names both boxes, in the message and in the detail.
	r := e.Must(400, "POST", "/api/v1/templates", "admin", cases[0].body)
	detail := r.JSON(t)["error"].(map[string]any)["detail"].(map[string]any)
	if detail["box"] == nil || detail["other_box"] == nil {
		t.Errorf("overlap detail %v does not name both boxes", detail)
	}
}

func TestTemplatePreview(t *testing.T) {
	e := testenv.Start(t)
	const id = "food-business-licence"
	r := e.Must(200, "POST", "/api/v1/templates/"+id+"/preview", "lizhou-clerk", map[string]any{
		"values": map[string]string{"经营者名称": "广元市昭化区预览测试餐饮店"},
	})
	if ct := r.Header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatalf("preview: %s %.20q, want a PDF", ct, r.Body)
	}
	if text := pdfText(t, r.Body); text != "" {
		for _, want := range []string{"广元市昭化区预览测试餐饮店", "食品经营许可证", "JY25108021491777"} {
			if !strings.Contains(strings.ReplaceAll(text, " ", ""), want) {
				t.Errorf("pdftotext of the preview lacks %q:\n%s", want, text)
			}
		}
	}
	// Overlay, another licence number, an older version.
	e.Must(201, "POST", "/api/v1/templates", "admin", templateJSON(t, id, func(m map[string]any) { m["version"] = 2; m["color"] = "#1a1a8b" }))
	r = e.Must(200, "POST", "/api/v1/templates/"+id+"/preview", "admin", map[string]any{
		"version": 1, "mode": "overlay", "offset_x_mm": 1.5, "offset_y_mm": -2, "licence_number": "JY15108020000019",
	})
	if text := pdfText(t, r.Body); text != "" && (!strings.Contains(text, "JY15108020000019") || strings.Contains(text, "经营者名称")) {
		t.Errorf("overlay preview: want the new number and no labels:\n%s", text)
	}
	// A value the template refuses names the field.
	r = e.Must(400, "POST", "/api/v1/templates/"+id+"/preview", "admin", map[string]any{"values": map[string]string{"统一社会信用代码": "123"}})
	if d := r.JSON(t)["error"].(map[string]any)["detail"].(map[string]any); d["field"] != "统一社会信用代码" {
		t.Errorf("detail %v does not name the field", d)
	}
	e.Must(400, "POST", "/api/v1/templates/"+id+"/preview", "admin", map[string]any{"mode": "poster"})
	e.Must(400, "POST", "/api/v1/templates/"+id+"/preview", "admin", map[string]any{"mode": "overlay", "offset_x_mm": 31})
	e.Must(404, "POST", "/api/v1/templates/"+id+"/preview", "admin", map[string]any{"version": 7})
	e.Must(403, "POST", "/api/v1/templates/"+id+"/preview", "auditor", map[string]any{})
}

package templates_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
	"certseal/templates"
)

var admin = certseal.Actor{UserID: "1", Username: "admin", OrgID: "1", Role: certseal.RoleAdmin}

func openStore(t *testing.T) (*templates.Store, *store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := store.Open(path, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China), Step: time.Second}
	return templates.NewStore(db, clock), db, path
}

// builtinWith returns the JSON of a built-in template changed by edit.
func builtinWith(t *testing.T, id string, edit func(m map[string]any)) []byte {
	t.Helper()
	src, ok := templates.BuiltinJSON(id)
	if !ok {
		t.Fatalf("no built-in %s", id)
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

func codeOf(err error) string {
	var e *certseal.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func auditCount(t *testing.T, db *store.DB) int {
	t.Helper()
	n := 0
	db.View(func(tx *store.Tx) error { n = tx.Count(audit.Events); return nil })
	return n
}

func TestStoreBuiltins(t *testing.T) {
	s, _, _ := openStore(t)
	ctx := context.Background()
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(templates.Builtin()) {
		t.Fatalf("List: got %d templates, want the %d built-ins", len(list), len(templates.Builtin()))
	}
	for _, r := range list {
		if !r.Builtin || r.Version != 1 || r.Template != nil || len(r.SHA256) != 64 {
			t.Errorf("List: %+v, want built-in version 1 with a hash and no template", r)
		}
		got, err := s.Get(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := templates.BuiltinByID(r.ID)
		if got.Template != want || got.Version != 1 {
			t.Errorf("Get(%s, 0): got version %d template %p, want the built-in %p", r.ID, got.Version, got.Template, want)
		}
	}
	if _, err := s.Get(ctx, "food-business-licence", 2); codeOf(err) != certseal.ENotFound {
		t.Errorf("Get version 2 of a built-in: got %v, want not_found", err)
	}
	if _, err := s.Get(ctx, "nope", 0); codeOf(err) != certseal.ENotFound {
		t.Errorf("Get unknown: got %v, want not_found", err)
	}
	if _, err := s.Versions(ctx, "nope"); codeOf(err) != certseal.ENotFound {
		t.Errorf("Versions unknown: got %v, want not_found", err)
	}
}

func TestStoreUpload(t *testing.T) {
	s, db, path := openStore(t)
	ctx := context.Background()
	const id = "food-business-licence"
	v2 := builtinWith(t, id, func(m map[string]any) { delete(m, "version"); m["color"] = "#1a1a8b" })
	rec, err := s.Upload(ctx, admin, v2)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 2 || rec.Builtin || rec.CreatedBy != "admin" || rec.Template == nil || rec.Template.Version != 2 {
		t.Fatalf("upload: got %+v, want version 2 by admin with its template", rec)
	}
	if n := auditCount(t, db); n != 1 {
		t.Errorf("audit events after one upload: got %d, want 1", n)
	}
	latest, err := s.Get(ctx, id, 0)
	if err != nil || latest.Version != 2 || latest.Template.Color != "#1a1a8b" {
		t.Fatalf("latest: got %+v %v, want version 2", latest, err)
	}
	if again, _ := s.Get(ctx, id, 2); again.Template != latest.Template {
		t.Error("Get parsed the template twice: the cache does not hold it")
	}
	if v1, _ := s.Get(ctx, id, 1); !v1.Builtin {
		t.Errorf("version 1: got %+v, want the built-in", v1)
	}
	vs, err := s.Versions(ctx, id)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
		t.Fatalf("Versions: got %+v %v, want 1 and 2", vs, err)
	}

	// The same layout again, a stale version number, and a version that skips ahead are refused.
	for name, data := range map[string][]byte{
		"same as latest": v2,
		"stale version":  builtinWith(t, id, func(m map[string]any) { m["version"] = 2; m["color"] = "#000001" }),
		"skips ahead":    builtinWith(t, id, func(m map[string]any) { m["version"] = 9; m["color"] = "#000001" }),
	} {
		if _, err := s.Upload(ctx, admin, data); codeOf(err) != certseal.EConflict {
			t.Errorf("%s: got %v, want conflict", name, err)
		}
	}
	// The right version number is accepted.
	rec3, err := s.Upload(ctx, admin, builtinWith(t, id, func(m map[string]any) { m["version"] = 3; m["color"] = "#000001" }))
	if err != nil || rec3.Version != 3 {
		t.Fatalf("version 3: got %+v %v", rec3, err)
	}
	// A new id starts at version 1.
	rec, err = s.Upload(ctx, admin, builtinWith(t, "generic-licence", func(m map[string]any) { m["id"] = "drainage-permit"; m["name"] = "排水许可证" }))
	if err != nil || rec.Version != 1 || rec.ID != "drainage-permit" {
		t.Fatalf("new id: got %+v %v, want version 1", rec, err)
	}
	list, _ := s.List(ctx)
	if len(list) != 5 || list[0].ID != "construction-permit" || list[1].ID != "drainage-permit" {
		t.Errorf("List after uploads: %+v", list)
	}
	for _, r := range list {
		if r.ID == id && r.Version != 3 {
			t.Errorf("List shows %s version %d, want 3", id, r.Version)
		}
	}

	// A second Store over the same database (a restart) reads the stored versions back, and
	// they render exactly like the ones uploaded.
	doc := sampleDoc(t, id)
	want, err := templates.NewRenderer().Render(rec3.Template, doc)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := store.Open(path, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s2 := templates.NewStore(db2, nil)
	got3, err := s2.Template(ctx, id, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := templates.NewRenderer().Render(got3, doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("a stored template read back renders differently from the uploaded one")
	}
	src, err := s2.Source(ctx, id, 0)
	if err != nil || !bytes.Contains(src, []byte(`"version":3`)) {
		t.Errorf("Source: %v %.80s", err, src)
	}
}

func sampleDoc(t *testing.T, id string) templates.Document {
	t.Helper()
	tpl, _ := templates.BuiltinByID(id)
	d := tpl.SampleDocument()
	d.Created = time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)
	return d
}

// TestStoreUploadRefused checks that each kind of bad template is refused with a Chinese
// message naming the problem, and that nothing is written.
func TestStoreUploadRefused(t *testing.T) {
	s, db, _ := openStore(t)
	ctx := context.Background()
	const id = "generic-licence"
	field := func(m map[string]any, i int) map[string]any { return m["fields"].([]any)[i].(map[string]any) }
	cases := map[string]struct {
		data []byte
		want string
	}{
		"overlapping boxes": {builtinWith(t, id, func(m map[string]any) {
			b := field(m, 2)["box"].(map[string]any)
			b["y"] = field(m, 1)["box"].(map[string]any)["y"]
		}), "重叠"},
		"box off the page": {builtinWith(t, id, func(m map[string]any) { field(m, 1)["box"].(map[string]any)["x"] = 190 }), "超出页面"},
		"unknown key":      {builtinWith(t, id, func(m map[string]any) { m["colour"] = "red" }), "JSON"},
		"bad id":           {builtinWith(t, id, func(m map[string]any) { m["id"] = "通用" }), "编号"},
		"negative version": {builtinWith(t, id, func(m map[string]any) { m["version"] = -1 }), "负数"},
		"bad sample":       {builtinWith(t, id, func(m map[string]any) { m["sample"].(map[string]any)["values"].(map[string]any)["持证主体"] = "" }), "样例"},
		"sample too long": {builtinWith(t, id, func(m map[string]any) {
			field(m, 1)["max_length"] = 0
			m["sample"].(map[string]any)["values"].(map[string]any)["持证主体"] = strings.Repeat("很长的单位名称", 40)
		}), "样例数据无法排版"},
		"not json":      {[]byte(`{"id": "x",`), "JSON"},
		"trailing data": {append(builtinWith(t, id, func(map[string]any) {}), []byte(` {}`)...), "JSON"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Upload(ctx, admin, c.data)
			var e *certseal.Error
			if !errors.As(err, &e) || e.Code != certseal.EInvalid || !strings.Contains(e.Message, c.want) {
				t.Fatalf("got %v, want invalid_argument mentioning %q", err, c.want)
			}
		})
	}
	if n := auditCount(t, db); n != 0 {
		t.Errorf("refused uploads wrote %d audit events", n)
	}
	if vs, _ := s.Versions(ctx, id); len(vs) != 1 {
		t.Errorf("refused uploads stored versions: %+v", vs)
	}
}

// TestSampleDocument checks every built-in renders its own sample, and that a template without
// one gets placeholders it can render.
func TestSampleDocument(t *testing.T) {
	r := templates.NewRenderer()
	for _, tpl := range templates.Builtin() {
		if tpl.Sample == nil {
			t.Errorf("%s has no sample", tpl.ID)
			continue
		}
		if _, err := r.Render(tpl, tpl.SampleDocument()); err != nil {
			t.Errorf("%s: sample: %v", tpl.ID, err)
		}
		c := *tpl
		c.Sample = nil
		d := c.SampleDocument()
		if _, err := r.Render(&c, d); err != nil {
			// Only a required field with a pattern the placeholder cannot match may fail.
			var e *certseal.Error
			if errors.As(err, &e) {
				name, _ := e.Detail["field"].(string)
				if f, ok := tpl.Field(name); ok && f.Required && f.Pattern != "" {
					continue
				}
			}
			t.Errorf("%s: placeholders %v: %v", tpl.ID, d.Values, err)
		}
	}
}

package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// builtins is parsed once at start-up; a built-in template that fails to parse is a bug in
// this package, so it panics (and the tests catch it).
var builtins = func() []*Template {
	names, err := fs.Glob(builtinFS, "builtin/*.json")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	out := make([]*Template, 0, len(names))
	for _, n := range names {
		b, err := builtinFS.ReadFile(n)
		if err != nil {
			panic(err)
		}
		t, err := Parse(b)
		if err != nil {
			panic(fmt.Sprintf("built-in template %s: %v", n, err))
		}
		out = append(out, t)
	}
	return out
}()

// Builtin returns the built-in templates (食品经营许可证, 建筑工程施工许可证, 道路运输经营许可证
// and the generic 通用证照), sorted by file name. The templates are shared and must not be
// modified. It never fails.
func Builtin() []*Template {
	return append([]*Template(nil), builtins...)
}

// BuiltinByID returns the built-in template with the given id, and false if there is none.
func BuiltinByID(id string) (*Template, bool) {
	for _, t := range builtins {
		if t.ID == id {
			return t, true
		}
	}
	return nil, false
}

// BuiltinJSON returns the JSON source of the built-in template with the given id, for copying
// into a new template, and false if there is none.
func BuiltinJSON(id string) ([]byte, bool) {
	for i, t := range builtins {
		if t.ID == id {
			names, _ := fs.Glob(builtinFS, "builtin/*.json")
			sort.Strings(names)
			b, err := builtinFS.ReadFile(names[i])
			return b, err == nil
		}
	}
	return nil, false
}

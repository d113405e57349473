package templates_test

import (
	"encoding/json"
	"testing"

	"certseal"
	"certseal/templates"
)

// FuzzParse: an uploaded template JSON is a valid template or an EInvalid error, never a panic,
// and a template it accepts is accepted again from its own encoding. Seeds: the built-in
// templates.
func FuzzParse(f *testing.F) {
	for _, t := range templates.Builtin() {
		b, ok := templates.BuiltinJSON(t.ID)
		if !ok {
			f.Fatalf("no JSON for built-in %s", t.ID)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := templates.Parse(data)
		if err != nil {
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("error %v, want EInvalid", err)
			}
			return
		}
		again, err := json.Marshal(tp)
		if err != nil {
			t.Fatalf("marshal an accepted template: %v", err)
		}
		if _, err := templates.Parse(again); err != nil {
			t.Fatalf("its own encoding is refused: %v\n%s", err, again)
		}
	})
}

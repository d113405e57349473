package server_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"certseal/certs"
	"certseal/certs/push"
	"certseal/cmd/app/testenv"
	"certseal/internal/catalogue"
)

// TestOpenAPICoversRoutes fails when a route is missing from the OpenAPI document, or the
// document names a path the server does not have.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := testenv.Start(t)
	r := e.Must(200, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.Decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	have := map[string]bool{}
	for _, rt := range e.App.Server.AllRoutes() {
		have[rt.Path] = true
		ops, ok := doc.Paths[rt.Path]
		if !ok {
			t.Errorf("route %s %s is not in the OpenAPI document", rt.Method, rt.Path)
			continue
		}
		if _, ok := ops[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s: the document has the path but not the method", rt.Method, rt.Path)
		}
	}
	for p := range doc.Paths {
		if !have[p] {
			t.Errorf("the OpenAPI document names %s, which the server does not serve", p)
		}
	}
}

// schemaOf returns a component schema of the merged document, failing the test when it is missing.
func schemaOf(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("the document has no schema %s", name)
	}
	return ref.Value
}

// enumOf returns the enum of a schema's property as strings (the schema itself for prop "").
func enumOf(t *testing.T, s *openapi3.Schema, prop string) []string {
	t.Helper()
	if prop != "" {
		p := s.Properties[prop]
		if p == nil || p.Value == nil {
			t.Fatalf("no property %s", prop)
		}
		s = p.Value
	}
	var out []string
	for _, v := range s.Enum {
		out = append(out, v.(string))
	}
	return out
}

// sameSet reports the values only in got and only in want, sorted.
func sameSet(got, want []string) (extra, missing []string) {
	g, w := map[string]bool{}, map[string]bool{}
	for _, v := range got {
		g[v] = true
	}
	for _, v := range want {
		w[v] = true
	}
	for v := range g {
		if !w[v] {
			extra = append(extra, v)
		}
	}
	for v := range w {
		if !g[v] {
			missing = append(missing, v)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return extra, missing
}

// certsConstants reads the string constants of package certs (its non-test sources) that keep
// selects by name and declared type ("" when untyped): the verdicts and statuses certs can
// return, so that a new one cannot be added without the document noticing.
func certsConstants(t *testing.T, keep func(name, typ string) bool) []string {
	t.Helper()
	names, err := filepath.Glob("../certs/*.go")
	if err != nil || len(names) == 0 {
		t.Fatalf("no sources of package certs: %v", err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) || !keep(n.Name, typ) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", name, n.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// TestOpenAPIDocumentsEveryOperation checks the lifecycle's documentation against the certs
// package's operation table: CertOperation.op lists exactly certs.Ops(); the history's op lists
// those and the operations the service records itself (issue, superseded); every operation's
// national code is in the history's code enum and in the table of the operations endpoint
// (op, label, code), and every event type is in the push description.
func TestOpenAPIDocumentsEveryOperation(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := certs.Ops()
	if extra, missing := sameSet(enumOf(t, schemaOf(t, doc, "CertOperation"), "op"), ops); extra != nil || missing != nil {
		t.Errorf("CertOperation.op: documented but not an operation %v, an operation but not documented %v", extra, missing)
	}
	recorded := append(slices.Clone(ops), "issue", "superseded")
	rec := schemaOf(t, doc, "CertOperationRecord")
	if extra, missing := sameSet(enumOf(t, rec, "op"), recorded); extra != nil || missing != nil {
		t.Errorf("CertOperationRecord.op: documented but not recorded %v, recorded but not documented %v", extra, missing)
	}
	codes := enumOf(t, rec, "code")
	table := doc.Paths.Find("/api/v1/certificates/{id}/operations").Post.Description
	push := schemaOf(t, doc, "PushDelivery").Properties["type"].Value.Description
	for _, op := range recorded {
		c, ok := certs.OperationCode(op)
		if !ok {
			t.Errorf("%s: certs has no operation code for it", op)
			continue
		}
		if !slices.Contains(codes, c.Code) {
			t.Errorf("%s: its code %s is not in CertOperationRecord.code %v", op, c.Code, codes)
		}
		if !strings.Contains(rec.Properties["code"].Value.Description, c.Code) {
			t.Errorf("%s: CertOperationRecord.code does not explain %s", op, c.Code)
		}
		if !regexp.MustCompile(`\b` + op + `\b`).MatchString(push) {
			t.Errorf("PushDelivery.type does not name certificate.%s", op)
		}
		if slices.Contains(ops, op) {
			if row := "| `" + op + "` | " + c.Label + " | " + c.Code + " |"; !strings.Contains(table, row) {
				t.Errorf("the operations endpoint's table has no row %q", row)
			}
		}
	}
}

// TestOpenAPIDocumentsEveryVerdict checks that CertVerdict.verdict lists exactly the verdicts
// package certs declares (its Verdict* constants), each with a label.
func TestOpenAPIDocumentsEveryVerdict(t *testing.T) {
	doc := loadOpenAPI(t)
	verdicts := certsConstants(t, func(name, _ string) bool { return strings.HasPrefix(name, "Verdict") })
	if len(verdicts) < 6 {
		t.Fatalf("found only the verdicts %v in package certs", verdicts)
	}
	documented := enumOf(t, schemaOf(t, doc, "CertVerdict"), "verdict")
	if extra, missing := sameSet(documented, verdicts); extra != nil || missing != nil {
		t.Errorf("CertVerdict.verdict: documented but not returned %v, returned but not documented %v", extra, missing)
	}
	desc := schemaOf(t, doc, "CertVerdict").Properties["verdict"].Value.Description
	for _, v := range verdicts {
		if certs.VerdictLabel(v) == "" {
			t.Errorf("verdict %s has no label", v)
		}
		if !strings.Contains(desc, v+" (") {
			t.Errorf("CertVerdict.verdict's description does not explain %s", v)
		}
	}
}

// TestOpenAPIDocumentsEveryStatus checks that CertStatus lists exactly the statuses package
// certs declares (00 未生效 included) and names each with its Chinese label.
func TestOpenAPIDocumentsEveryStatus(t *testing.T) {
	doc := loadOpenAPI(t)
	statuses := certsConstants(t, func(_, typ string) bool { return typ == "Status" })
	if len(statuses) < 9 {
		t.Fatalf("found only the statuses %v in package certs", statuses)
	}
	s := schemaOf(t, doc, "CertStatus")
	if extra, missing := sameSet(enumOf(t, s, ""), statuses); extra != nil || missing != nil {
		t.Errorf("CertStatus: documented but not a status %v, a status but not documented %v", extra, missing)
	}
	for _, st := range statuses {
		if want := st + " " + certs.Status(st).Label(); !strings.Contains(s.Description, want) {
			t.Errorf("CertStatus's description does not say %q", want)
		}
	}
}

// jsonNames returns the JSON names of a struct type's fields, embedded structs flattened.
func jsonNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case f.Anonymous && name == "":
			out = append(out, jsonNames(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// TestOpenAPIDescribesEveryField checks that the schemas of the certificate answers and
// requests name exactly the JSON fields of the Go types the server writes and reads, so a field
// added to a record (superseded_from, transfer_to_org_id, …) cannot go undocumented, and the
// public view never gains status_reason.
func TestOpenAPIDescribesEveryField(t *testing.T) {
	doc := loadOpenAPI(t)
	cases := []struct {
		schema string
		value  any
	}{
		{"Certificate", certs.Certificate{}},
		{"CertPublicView", certs.PublicView{}},
		{"CertVerdict", certs.PDFVerdict{}},
		{"CertOperation", certs.OperationRequest{}},
		{"CertOperationRecord", certs.Operation{}},
		{"PushDelivery", push.Payload{}},
	}
	for _, c := range cases {
		s := schemaOf(t, doc, c.schema)
		names := jsonNames(reflect.TypeOf(c.value))
		if extra, missing := sameSet(slices.Collect(maps.Keys(s.Properties)), names); extra != nil || missing != nil {
			t.Errorf("%s: documented but not in %T %v; in %T but not documented %v", c.schema, c.value, extra, c.value, missing)
		}
	}
	items := schemaOf(t, doc, "CertVerdict").Properties["signatures"].Value.Items.Value
	if extra, missing := sameSet(slices.Collect(maps.Keys(items.Properties)), jsonNames(reflect.TypeOf(certs.SignatureCheck{}))); extra != nil || missing != nil {
		t.Errorf("CertVerdict.signatures: documented but not in SignatureCheck %v; not documented %v", extra, missing)
	}
	if slices.Contains(jsonNames(reflect.TypeOf(certs.PublicView{})), "status_reason") {
		t.Error("the public view carries status_reason: the free-text reason is for the issuer only")
	}
}

// TestOpenAPIDescribesNumberPatterns checks the licence number pattern's schema against the
// parser: its length limit is catalogue.MaxNumberPattern, every check algorithm is named, and
// the example (the food licence's pattern) parses and makes the number the description gives.
func TestOpenAPIDescribesNumberPatterns(t *testing.T) {
	doc := loadOpenAPI(t)
	s := schemaOf(t, doc, "NumberPattern")
	if s.MaxLength == nil || *s.MaxLength != catalogue.MaxNumberPattern {
		t.Errorf("NumberPattern maxLength %v, the parser takes %d", s.MaxLength, catalogue.MaxNumberPattern)
	}
	for _, alg := range catalogue.CheckAlgorithms {
		if !strings.Contains(s.Description, "`"+alg+"`") {
			t.Errorf("NumberPattern does not name the check algorithm %s", alg)
		}
	}
	for _, ph := range []string{"{area}", "{year}", "{seq:N}", "{field:NAME:PREFIX=CODE,...}", "{check:ALG}"} {
		if !strings.Contains(s.Description, ph) {
			t.Errorf("NumberPattern does not describe %s", ph)
		}
	}
	example, _ := s.Example.(string)
	n, err := certs.FormatNumber(example, certs.NumberInput{Area: "510802", Year: 2026, Seq: 1, Values: map[string]string{"主体业态": "餐饮服务经营者（饮品店）"}})
	if err != nil {
		t.Fatalf("the example %q: %v", example, err)
	}
	if !strings.Contains(s.Description, "`"+n+"`") {
		t.Errorf("the example makes %s, which the description does not give", n)
	}
	for _, ref := range []*openapi3.SchemaRef{
		schemaOf(t, doc, "LicenceType").Properties["number_pattern"],
		doc.Paths.Find("/api/v1/licence-types/{code}").Patch.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties["number_pattern"],
	} {
		if ref == nil || ref.Ref != "#/components/schemas/NumberPattern" {
			t.Errorf("a number_pattern is not the NumberPattern schema: %+v", ref)
		}
	}
}

// TestOpenAPIDescribesPushSecret checks that the documented shape of a subscription's secret is
// what certs.EncodeSecret makes of a 32-byte key.
func TestOpenAPIDescribesPushSecret(t *testing.T) {
	doc := loadOpenAPI(t)
	var secret *openapi3.Schema
	for _, part := range schemaOf(t, doc, "PushSubscriptionWithSecret").AllOf {
		if p := part.Value.Properties["secret"]; p != nil {
			secret = p.Value
		}
	}
	if secret == nil {
		t.Fatal("PushSubscriptionWithSecret has no secret")
	}
	re := regexp.MustCompile(secret.Pattern)
	for _, key := range [][]byte{make([]byte, 32), []byte("0123456789abcdef0123456789abcdef"), {0xfb, 0xff, 0xfe, 31: 0xff}} {
		if s := push.EncodeSecret(key); !re.MatchString(s) {
			t.Errorf("the secret %s does not match the documented pattern %s", s, secret.Pattern)
		}
	}
	for _, s := range []string{"`whsec_`", "unpadded base64url", "32-byte", "X-Certseal-Signature", "sha256=<hex HMAC-SHA256 of the raw body>"} {
		if !strings.Contains(secret.Description, s) {
			t.Errorf("the secret's description does not say %q", s)
		}
	}
}

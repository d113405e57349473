package server_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"certseal/server"
)

// loadOpenAPI loads the merged document with kin-openapi, failing the test when it does not load.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	raw, err := server.OpenAPI()
	if err != nil {
		t.Fatalf("merging the fragments: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	return doc
}

// TestOpenAPIValidates validates the merged document with a real validator (kin-openapi), with
// its examples and defaults checked against their schemas.
func TestOpenAPIValidates(t *testing.T) {
	doc := loadOpenAPI(t)
	ctx := openapi3.WithValidationOptions(context.Background(),
		openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableSchemaPatternValidation(), openapi3.EnableMultiError())
	if err := doc.Validate(ctx); err != nil {
		for _, line := range strings.Split(err.Error(), " | ") {
			t.Error(line)
		}
	}
}

var camelCase = regexp.MustCompile(`^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$`)

// TestOpenAPIOperationIDs checks that every operation has an operationId, in camelCase, unique
// across the document.
func TestOpenAPIOperationIDs(t *testing.T) {
	doc := loadOpenAPI(t)
	seen := map[string]string{}
	for _, path := range doc.Paths.InMatchingOrder() {
		ops := doc.Paths.Find(path).Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			op, at := ops[method], method+" "+path
			switch {
			case op.OperationID == "":
				t.Errorf("%s has no operationId", at)
			case !camelCase.MatchString(op.OperationID):
				t.Errorf("%s: operationId %q is not camelCase", at, op.OperationID)
			case seen[op.OperationID] != "":
				t.Errorf("%s: operationId %q is also used by %s", at, op.OperationID, seen[op.OperationID])
			default:
				seen[op.OperationID] = at
			}
		}
	}
}

// TestOpenAPIFlowMapsKeepTheirText catches the YAML mistake that cut descriptions short: in a
// flow map ({a: b, c: d}) an unquoted comma ends the value, and the rest of the sentence becomes
// a key with no value; anywhere, an unquoted " #" turns the rest of a line into a comment. Every
// key must have a value, every description or summary written inside a flow map must be quoted,
// and none may be followed by a comment.
func TestOpenAPIFlowMapsKeepTheirText(t *testing.T) {
	names, err := filepath.Glob("openapi/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no fragments under openapi/: %v", err)
	}
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(raw, &root); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var walk func(n *yaml.Node, flow bool)
		walk = func(n *yaml.Node, flow bool) {
			flow = flow || n.Style&yaml.FlowStyle != 0
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					k, v := n.Content[i], n.Content[i+1]
					if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" {
						t.Errorf("%s:%d: %q has no value (an unquoted comma or colon in the text before it?)", name, k.Line, k.Value)
					}
					if flow && (k.Value == "description" || k.Value == "summary") && v.Kind == yaml.ScalarNode && v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
						t.Errorf("%s:%d: quote the %s %q: inside {...} a comma would cut it", name, k.Line, k.Value, v.Value)
					}
					if (k.Value == "description" || k.Value == "summary") && v.LineComment != "" {
						t.Errorf("%s:%d: the %s %q is followed by %q: an unquoted \" #\" starts a comment and cuts the text", name, k.Line, k.Value, v.Value, v.LineComment)
					}
				}
			}
			for _, c := range n.Content {
				walk(c, flow)
			}
		}
		walk(&root, false)
	}
}

// readmeRequest is one example request of the README: its method, path and JSON body (nil for
// none), and the README line it is on.
type readmeRequest struct {
	line   int
	method string
	path   string
	body   []byte
	// form names the multipart part the body is sent as (-F name=@file), or "" for a JSON body.
	form string
	// binary is set for a body that is not JSON (--data-binary @file.pdf).
	binary bool
}

// readmeValues stands in for the shell variables and command substitutions of the README's
// examples: values of the shape the server gives (ids, tokens, dates).
var readmeValues = map[string]string{
	"$API":        "http://127.0.0.1:8080/api/v1",
	"$SEAL":       "4",
	"$LZ":         "12",
	"$ID":         "1",
	"$NO":         "JY25108020000016",
	"$ZH":         "6",
	"$ZSEAL":      "ES510811000002",
	"$ZFORM":      "SC00001251",
	"$(date +%Y)": "2026",
	"$(date -d '+30 days' +%Y-%m-%dT18:00:00+08:00)": "2027-01-15T18:00:00+08:00",
}

// shellWords splits one shell command line into words the way sh does for the forms the README
// uses: '…' (literal), "…" (with \ escapes and expansions), bare words with expansions, a
// trailing # comment. Expansions ($NAME, $(…)) are looked up in vars; an unknown one is
// reported.
func shellWords(line string, vars map[string]string) (words []string, comment string, unknown []string) {
	var cur strings.Builder
	inWord := false
	expand := func(s string, i int) (int, bool) { // at s[i]=='$'; returns the index after it
		if strings.HasPrefix(s[i:], "$(") {
			depth, j := 0, i+1
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(s) {
				return i, false
			}
			name := s[i : j+1]
			if v, ok := vars[name]; ok {
				cur.WriteString(v)
			} else {
				unknown = append(unknown, name)
			}
			return j + 1, true
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i+1 {
			return i, false
		}
		name := s[i:j]
		if v, ok := vars[name]; ok {
			cur.WriteString(v)
		} else {
			unknown = append(unknown, name)
		}
		return j, true
	}
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '#' && !inWord:
			return words, strings.TrimSpace(line[i+1:]), unknown
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			inWord = true
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 2
		case c == '"':
			inWord = true
			i++
			for i < len(line) && line[i] != '"' {
				switch {
				case line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0:
					cur.WriteByte(line[i+1])
					i += 2
				case line[i] == '$':
					if j, ok := expand(line, i); ok {
						i = j
					} else {
						cur.WriteByte('$')
						i++
					}
				default:
					cur.WriteByte(line[i])
					i++
				}
			}
			i++
		case c == '$':
			inWord = true
			if j, ok := expand(line, i); ok {
				i = j
			} else {
				cur.WriteByte('$')
				i++
			}
		default:
			inWord = true
			cur.WriteByte(c)
			i++
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, "", unknown
}

// readmeRequests reads the example requests from the README's shell blocks: every curl line,
// with the bodies of --json '…', --json @file and -F name=@file, where the files are the
// heredocs (cat > file <<JSON … JSON) written before.
func readmeRequests(t *testing.T) []readmeRequest {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for k, v := range readmeValues {
		vars[k] = v
	}
	assign := regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=(.*)$`)
	files := map[string][]byte{}
	heredoc := regexp.MustCompile(`^cat > (\S+) <<(\w+)$`)
	lines := strings.Split(string(raw), "\n")
	var out []readmeRequest
	for n := 0; n < len(lines); n++ {
		line := lines[n]
		if m := heredoc.FindStringSubmatch(line); m != nil {
			var body []string
			for n++; n < len(lines) && lines[n] != m[2]; n++ {
				body = append(body, lines[n])
			}
			// An unquoted delimiter: the shell expands $NAME inside.
			text := regexp.MustCompile(`\$[A-Z_][A-Z0-9_]*`).ReplaceAllStringFunc(strings.Join(body, "\n"), func(s string) string {
				if v, ok := vars[s]; ok {
					return v
				}
				t.Errorf("README.md:%d: no stand-in value for %s", n+1, s)
				return s
			})
			files[m[1]] = []byte(text)
			continue
		}
		// NAME=value … (literal values; a command substitution keeps its stand-in value).
		if words, _, _ := shellWords(line, vars); len(words) > 0 && assign.MatchString(words[0]) && !strings.Contains(line, "$(") {
			for _, w := range words {
				if m := assign.FindStringSubmatch(w); m != nil {
					vars["$"+m[1]] = m[2]
				}
			}
			continue
		}
		if !strings.Contains(line, "curl ") {
			continue
		}
		// A command substitution around curl (X=$(curl … | python3 …)) is a GET whose answer is read.
		if i := strings.Index(line, "$(curl "); i >= 0 {
			line = line[i+2:]
			if j := strings.Index(line, " | "); j >= 0 {
				line = line[:j]
			}
		} else if !strings.HasPrefix(line, "curl ") {
			continue
		}
		words, comment, unknown := shellWords(line, vars)
		for _, u := range unknown {
			t.Errorf("README.md:%d: no stand-in value for %s", n+1, u)
		}
		req := readmeRequest{line: n + 1, method: "GET"}
		var target string
		for i := 1; i < len(words); i++ {
			w := words[i]
			switch {
			case w == "--json" && i+1 < len(words):
				i++
				req.method = "POST"
				req.body = []byte(words[i])
				if f, ok := strings.CutPrefix(words[i], "@"); ok {
					if req.body = files[f]; req.body == nil {
						t.Errorf("README.md:%d: --json @%s names no file written before", n+1, f)
					}
				}
			case w == "-X" && i+1 < len(words):
				i++
				req.method = words[i]
			case w == "-F" && i+1 < len(words):
				i++
				req.method = "POST"
				if name, f, ok := strings.Cut(words[i], "=@"); ok && strings.HasSuffix(f, ".json") {
					if req.body = files[f]; req.body == nil {
						t.Errorf("README.md:%d: -F %s names no file written before", n+1, words[i])
					}
					req.form = name
				}
			case w == "--data-binary" && i+1 < len(words):
				i++
				req.method = "POST"
				req.binary = true
			case w == "-H" || w == "-o":
				i++
			case strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://"):
				target = w
			}
		}
		if target == "" {
			t.Errorf("README.md:%d: no URL in %q", n+1, line)
			continue
		}
		u, err := url.Parse(target)
		if err != nil {
			t.Errorf("README.md:%d: %v", n+1, err)
			continue
		}
		req.path = u.Path
		// An example that shows an error answer (# 403 …) is meant to be refused.
		if regexp.MustCompile(`^4\d\d\b`).MatchString(comment) {
			continue
		}
		out = append(out, req)
	}
	return out
}

// findOperation matches a concrete path to the document's path templates, preferring the
// template with the most literal segments (/certificates/batch over /certificates/{id}).
func findOperation(doc *openapi3.T, method, path string) (string, *openapi3.Operation) {
	segs := strings.Split(path, "/")
	best, bestLiteral := "", -1
	for _, tmpl := range doc.Paths.InMatchingOrder() {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		literal, ok := 0, true
		for i := range ts {
			if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") && segs[i] != "" {
				continue
			}
			if ts[i] != segs[i] {
				ok = false
				break
			}
			literal++
		}
		if ok && literal > bestLiteral {
			best, bestLiteral = tmpl, literal
		}
	}
	if best == "" {
		return "", nil
	}
	return best, doc.Paths.Find(best).GetOperation(method)
}

// TestOpenAPIAcceptsREADMEExamples checks every example request of the README against the
// document: its method and path are documented, and its JSON body is valid against the
// operation's request schema (for a multipart part, the part's schema). A request without a
// body must go to an operation whose body is optional.
func TestOpenAPIAcceptsREADMEExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	reqs := readmeRequests(t)
	if len(reqs) < 30 {
		t.Fatalf("found only %d example requests in README.md; is the parser still right?", len(reqs))
	}
	bodies := 0
	for _, r := range reqs {
		tmpl, op := findOperation(doc, r.method, r.path)
		if op == nil {
			t.Errorf("README.md:%d: %s %s is not in the document", r.line, r.method, r.path)
			continue
		}
		at := func(format string, args ...any) {
			t.Helper()
			t.Errorf("README.md:%d: %s %s (%s): "+format, append([]any{r.line, r.method, tmpl, op.OperationID}, args...)...)
		}
		rb := op.RequestBody
		if r.binary {
			if rb == nil {
				at("the README sends a body; the document has none")
			}
			continue
		}
		if r.body == nil {
			if rb != nil && rb.Value.Required {
				at("the document requires a body; the README sends none")
			}
			continue
		}
		if rb == nil {
			at("the README sends a body; the document has none")
			continue
		}
		var schema *openapi3.Schema
		if r.form == "" {
			mt := rb.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				at("no application/json request schema")
				continue
			}
			schema = mt.Schema.Value
		} else {
			mt := rb.Value.Content.Get("multipart/form-data")
			if mt == nil || mt.Schema == nil || mt.Schema.Value.Properties[r.form] == nil {
				at("no multipart part %q in the request schema", r.form)
				continue
			}
			schema = mt.Schema.Value.Properties[r.form].Value
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			at("the README's body is not JSON: %v\n%s", err, r.body)
			continue
		}
		bodies++
		if err := schema.VisitJSON(v, openapi3.VisitAsRequest(), openapi3.MultiErrors(), openapi3.EnableFormatValidation()); err != nil {
			at("the README's body does not fit the schema:\n%v", err)
		}
	}
	t.Logf("%d example requests, %d bodies checked", len(reqs), bodies)
	if bodies < 10 {
		t.Errorf("only %d example bodies checked", bodies)
	}
}

// TestREADMEShellWords pins the small shell parser the README check relies on.
func TestREADMEShellWords(t *testing.T) {
	vars := map[string]string{"$LZ": "12", "$FOOD": "F", "$API": "", "$(date +%Y)": "2026"}
	cases := []struct {
		line    string
		want    []string
		comment string
	}{
		{`curl -s --json '{"a":"'$LZ'"}' $API/x # 403 no`, []string{"curl", "-s", "--json", `{"a":"12"}`, "/x"}, "403 no"},
		{`curl --json "{\"y\":$(date +%Y),\"c\":\"$FOOD\"}" u`, []string{"curl", "--json", `{"y":2026,"c":"F"}`, "u"}, ""},
		{`curl '$LZ' "a b"`, []string{"curl", "$LZ", "a b"}, ""},
	}
	for _, c := range cases {
		got, comment, _ := shellWords(c.line, vars)
		if strings.Join(got, "\x00") != strings.Join(c.want, "\x00") || comment != c.comment {
			t.Errorf("%s:\n got %q # %q\nwant %q # %q", c.line, got, comment, c.want, c.comment)
		}
	}
}

// TestOpenAPIDocumentsOverloadAnswers checks that the document names the answers a client must
// handle when the service is overloaded or cannot write: 429 (with Retry-After) on the password
// and token operations and on public verification, 503 on every write, and which 409 of
// certificate issuance means "retry later".
func TestOpenAPIDocumentsOverloadAnswers(t *testing.T) {
	doc := loadOpenAPI(t)
	rateLimited := map[string]bool{
		"POST /api/v1/tokens": true, "POST /api/v1/verify": true, "GET /verify/{ref}": true,
		"GET /api/v1/status-list": true, "POST /login": true, "POST /account": true, "POST /verify": true,
	}
	// POSTs that only read: verification, signature validation, previews.
	readOnly := map[string]bool{
		"POST /api/v1/verify": true, "POST /api/v1/seals/validate": true,
		"POST /api/v1/templates/{id}/preview": true, "POST /verify": true, "POST /admin/templates/preview": true,
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		ops := doc.Paths.Find(path).Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			op, at := ops[method], method+" "+path
			web := slices.Contains(op.Tags, "web pages")
			ref := func(code string) string {
				if r := op.Responses.Value(code); r != nil {
					return strings.TrimPrefix(r.Ref, "#/components/responses/")
				}
				return ""
			}
			want := func(code, api, page string) {
				t.Helper()
				name := api
				if web {
					name = page
				}
				if got := ref(code); got != name {
					t.Errorf("%s: %s should be the %s response, is %q", at, code, name, got)
				}
			}
			if rateLimited[at] {
				want("429", "RateLimited", "WebRateLimited")
			}
			if method != "GET" && !readOnly[at] {
				want("503", "Unavailable", "WebUnavailable")
			}
		}
	}
	for _, name := range []string{"RateLimited", "WebRateLimited"} {
		r := doc.Components.Responses[name]
		if r == nil || r.Value.Headers["Retry-After"] == nil {
			t.Errorf("the %s response has no Retry-After header", name)
		}
	}
	issue := doc.Paths.Find("/api/v1/certificates").Post
	conflict := issue.Responses.Status(409)
	if conflict == nil || conflict.Ref != "#/components/responses/CertIssueConflict" {
		t.Fatalf("POST /api/v1/certificates: 409 is not CertIssueConflict")
	}
	d := *conflict.Value.Description
	for _, s := range []string{`{"retry": true}`, "retry later", "blank_serial", "serial is taken"} {
		if !strings.Contains(d, s) {
			t.Errorf("the 409 of issuance does not say %q", s)
		}
	}
	body := conflict.Value.Content.Get("application/json").Schema.Value
	for _, v := range []map[string]any{
		{"error": map[string]any{"code": "conflict", "message": "同一 Idempotency-Key 的请求正在处理，请稍后重试以取得结果", "detail": map[string]any{"retry": true}}},
		{"error": map[string]any{"code": "conflict", "message": "空白证照 SC00000001 正在被另一笔签发使用", "detail": map[string]any{"blank_serial": "SC00000001"}}},
	} {
		if err := body.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
			t.Errorf("the 409 schema refuses %v: %v", v, err)
		}
	}
}

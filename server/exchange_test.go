package server_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"certseal/certs"
	"certseal/certs/exchange"
	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
)

// feed reads the whole change feed after `after` as user, limit records a page, checking the
// cursor of every page, and returns the records.
func feed(t *testing.T, e *testenv.Env, user string, after uint64, limit int) []exchange.Record {
	t.Helper()
	var out []exchange.Record
	for range 1000 {
		var p exchange.Page
		e.Must(200, "GET", fmt.Sprintf("/api/v1/exchange/changes?after=%d&limit=%d", after, limit), user, nil).Decode(t, &p)
		if p.Format != exchange.Format || p.After != after || p.Count != len(p.Changes) || p.Count > limit {
			t.Fatalf("page after %d: format %q after %d count %d of %d", after, p.Format, p.After, p.Count, len(p.Changes))
		}
		if p.Count == 0 {
			if p.More || p.Next != after {
				t.Fatalf("empty page after %d: has_more %v next %d", after, p.More, p.Next)
			}
			return out
		}
		if p.Next != p.Changes[p.Count-1].Seq || p.Changes[0].Seq <= after {
			t.Fatalf("page after %d: first %d next %d", after, p.Changes[0].Seq, p.Next)
		}
		out = append(out, p.Changes...)
		after = p.Next
		if !p.More {
			if p.Next != p.LastSeq {
				t.Fatalf("last page ends at %d, last_seq %d", p.Next, p.LastSeq)
			}
			return out
		}
	}
	t.Fatal("the feed does not end")
	return nil
}

// want is what one exchange record must say.
type want struct {
	cert     certs.Certificate
	op       string // exchange operation code
	national string
	status   certs.Status
	prev     string // previous_identifier
	next     string // new_identifier
}

// TestExchangeFeedAfterN issues, changes, suspends and revokes certificates, then checks that
// the feed and the files after sequence N hold exactly the changes made after N, in order, item
// by item, with the national metadata of each certificate; that the XML file is well-formed
// (xmllint) and holds the same records as the JSON file; and that both validate against the
// OpenAPI schema of the format.
func TestExchangeFeedAfterN(t *testing.T) {
	e := testenv.Start(t)
	l := lc{t, e}
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	c1 := issue(t, e, "lizhou-clerk", issueRequest(fs[0], seal, "SC00000001"))
	c2 := issue(t, e, "lizhou-clerk", issueRequest(fs[1], seal, "SC00000002"))
	before := feed(t, e, "auditor", 0, 100)
	if len(before) != 2 || before[0].Identifier != c1.Identifier || before[1].Identifier != c2.Identifier || before[0].OperationCode != "01" {
		t.Fatalf("feed before N: %+v", before)
	}
	n := before[1].Seq

	l.op("lizhou-clerk", c1.ID, map[string]any{"op": "suspend", "reason": "责令停业整顿"}, 200)
	l.op("lizhou-clerk", c2.ID, map[string]any{"op": "revoke", "reason": "以欺骗手段取得许可"}, 200)
	c3 := issue(t, e, "lizhou-clerk", issueRequest(fs[2], seal, "SC00000003"))
	c3b := l.op("lizhou-clerk", c3.ID, map[string]any{"op": "change", "reason": "法定代表人变更", "values": map[string]string{"法定代表人（负责人）": "王五"}, "blank_serial": "SC00000004"}, 200)
	l.op("lizhou-clerk", c1.ID, map[string]any{"op": "reinstate", "reason": "整改完成"}, 200)
	end, _ := time.Parse("2006-01-02", c1.ValidTo)
	c1b := l.op("lizhou-clerk", c1.ID, map[string]any{"op": "renew", "reason": "有效期届满前申请延续", "valid_to": end.AddDate(4, 0, 0).Format("2006-01-02"), "blank_serial": "SC00000005"}, 200)

	wants := []want{
		{cert: c1, op: "03", national: "03", status: certs.StatusSuspended},
		{cert: c2, op: "91", national: "99", status: certs.StatusRevoked},
		{cert: c3, op: "01", national: "01", status: certs.StatusValid},
		{cert: c3b, op: "09", national: "09", status: certs.StatusValid, prev: c3.Identifier},
		{cert: c3, op: "96", national: "99", status: certs.StatusOther, next: c3b.Identifier},
		{cert: c1, op: "06", national: "06", status: certs.StatusValid},
		{cert: c1b, op: "02", national: "02", status: certs.StatusValid, prev: c1.Identifier}, // reported 01 before it takes effect
		{cert: c1, op: "97", national: "99", status: certs.StatusValid, next: c1b.Identifier}, // in force until then
	}
	for _, limit := range []int{1, 2, 100} {
		got := feed(t, e, "admin", n, limit)
		checkRecords(t, fmt.Sprintf("feed after %d, %d a page", n, limit), got, wants, n, fs)
	}
	// after the newest: nothing, and the cursor stays
	all := feed(t, e, "auditor", 0, 1000)
	if len(all) != 2+len(wants) {
		t.Fatalf("whole feed: %d records", len(all))
	}
	for i, r := range all {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: the sequence has a gap", i, r.Seq)
		}
	}
	if rest := feed(t, e, "auditor", all[len(all)-1].Seq, 10); len(rest) != 0 {
		t.Fatalf("after the newest: %d records", len(rest))
	}

	// the files
	jr := e.Must(200, "GET", fmt.Sprintf("/api/v1/exchange/changes.json?after=%d", n), "auditor", nil)
	if ct := jr.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !strings.Contains(jr.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("JSON file headers: %v", jr.Header)
	}
	var doc struct {
		Format  string            `json:"format"`
		After   uint64            `json:"after"`
		LastSeq uint64            `json:"last_seq"`
		Count   int               `json:"count"`
		Changes []exchange.Record `json:"changes"`
	}
	jr.Decode(t, &doc)
	if doc.Format != "certseal-exchange/1" || doc.After != n || doc.Count != len(wants) || doc.LastSeq != all[len(all)-1].Seq {
		t.Fatalf("JSON file: format %q after %d count %d last %d", doc.Format, doc.After, doc.Count, doc.LastSeq)
	}
	checkRecords(t, "JSON file", doc.Changes, wants, n, fs)
	checkJSONFields(t, jr.Body)
	validateFile(t, jr.Body)

	xr := e.Must(200, "GET", fmt.Sprintf("/api/v1/exchange/changes.xml?after=%d", n), "admin", nil)
	if ct := xr.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Fatalf("XML content type %q", ct)
	}
	xmllint(t, xr.Body)
	var xdoc struct {
		Format  string            `xml:"format,attr"`
		After   uint64            `xml:"after,attr"`
		Count   int               `xml:"count,attr"`
		Changes []exchange.Record `xml:"change"`
	}
	if err := xml.Unmarshal(xr.Body, &xdoc); err != nil {
		t.Fatal(err)
	}
	if xdoc.Format != exchange.Format || xdoc.After != n || xdoc.Count != len(wants) || !reflect.DeepEqual(xdoc.Changes, doc.Changes) {
		t.Fatalf("the XML file differs from the JSON file:\n%+v\n%+v", xdoc.Changes, doc.Changes)
	}

	// a sequence range and a period
	var part struct{ Changes []exchange.Record }
	e.Must(200, "GET", fmt.Sprintf("/api/v1/exchange/changes.json?after=%d&upto=%d", n, n+2), "admin", nil).Decode(t, &part)
	checkRecords(t, "range (N, N+2]", part.Changes, wants[:2], n, fs)
	e.Must(200, "GET", "/api/v1/exchange/changes.json?from=2026-03-02&to=2026-03-02", "admin", nil).Decode(t, &part)
	if len(part.Changes) != len(all) {
		t.Fatalf("the day of the test holds %d changes, want %d", len(part.Changes), len(all))
	}
	e.Must(200, "GET", "/api/v1/exchange/changes.json?from=2026-03-03", "admin", nil).Decode(t, &part)
	if len(part.Changes) != 0 {
		t.Fatalf("the next day holds %d changes", len(part.Changes))
	}

	// bad input
	for _, q := range []string{"changes?after=abc", "changes?after=-1", "changes?limit=0", "changes?limit=1001", "changes?after=99999999999999999999999",
		"changes.json?after=5&upto=5", "changes.json?from=2026-13-01", "changes.json?from=2026-03-05&to=2026-03-01", "changes.xml?upto=x"} {
		if r := e.Do("GET", "/api/v1/exchange/"+q, "admin", nil); r.Status != 400 || r.ErrorCode() != "invalid_argument" {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}

	// audited: each page with changes, each file
	var audit struct {
		Items []struct {
			Action string         `json:"action"`
			Detail map[string]any `json:"detail"`
		}
	}
	e.Must(200, "GET", "/api/v1/audit?limit=500", "auditor", nil).Decode(t, &audit)
	reads, exports := 0, 0
	for _, ev := range audit.Items {
		switch ev.Action {
		case "exchange.read":
			reads++
		case "exchange.export":
			exports++
			if ev.Detail["sha256"] == "" || ev.Detail["count"] == nil {
				t.Errorf("export audit without its digest and count: %v", ev.Detail)
			}
		}
	}
	// pages with changes: 1 (before N) + 8+4+1 (after N at 1, 2, 100 a page) + 1 (whole feed)
	if reads != 15 || exports != 5 {
		t.Fatalf("audit: %d exchange.read, %d exchange.export; want 12 and 5", reads, exports)
	}
}

func checkRecords(t *testing.T, what string, got []exchange.Record, wants []want, n uint64, fs []fixture) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%s: %d records, want %d: %+v", what, len(got), len(wants), got)
	}
	holders := map[string]bool{}
	for _, f := range fs[:3] {
		holders[f.Fields["统一社会信用代码"]] = true
	}
	for i, r := range got {
		w, c := wants[i], wants[i].cert
		if r.Seq != n+uint64(i)+1 {
			t.Errorf("%s: record %d has seq %d, want %d", what, i, r.Seq, n+uint64(i)+1)
		}
		if r.OperationCode != w.op || r.NationalOperationCode != w.national || r.StatusCode != string(w.status) || r.StatusName != w.status.Label() {
			t.Errorf("%s: record %d: operation %s/%s status %s %s, want %s/%s %s", what, i, r.OperationCode, r.NationalOperationCode, r.StatusCode, r.StatusName, w.op, w.national, w.status)
		}
		if r.Identifier != c.Identifier || r.LicenceNumber != c.LicenceNumber || r.Name != c.Name || r.Version != c.Version || r.TypeCode != c.TypeCode ||
			r.IssuerName != c.IssuerName || r.IssuerCode != c.IssuerCode || r.DefinerName != c.DefinerName || r.DefinerCode != c.DefinerCode ||
			r.IssueDate != c.IssueDate || r.ValidFrom != c.ValidFrom || r.ValidTo != c.ValidTo || r.AreaCode != c.AreaCode ||
			r.ItemName != c.ItemName || r.ItemCode != c.ItemCode || r.HolderName != c.Holder.Name || r.HolderCodeType != "001" {
			t.Errorf("%s: record %d does not carry certificate %s's metadata:\n%+v\n%+v", what, i, c.ID, r, c)
		}
		if !holders[r.HolderCode] {
			t.Errorf("%s: record %d: holder code %q is not a sample record's full credit code", what, i, r.HolderCode)
		}
		if r.PreviousIdentifier != w.prev || r.NewIdentifier != w.next {
			t.Errorf("%s: record %d: previous %q new %q, want %q %q", what, i, r.PreviousIdentifier, r.NewIdentifier, w.prev, w.next)
		}
		if !strings.HasPrefix(r.OperatedAt, "2026-03-02T") || !strings.HasSuffix(r.OperatedAt, "+08:00") {
			t.Errorf("%s: record %d operated at %q", what, i, r.OperatedAt)
		}
	}
}

// checkJSONFields checks the JSON file's fields by name and JSON type, as a platform adapter
// reading it without our Go types would: every required field of a record is present, strings
// are non-empty strings, numbers are numbers, and no field is outside the documented list.
func checkJSONFields(t *testing.T, body []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "generated_at"} {
		if s, ok := doc[k].(string); !ok || s == "" {
			t.Errorf("file field %s = %#v", k, doc[k])
		}
	}
	for _, k := range []string{"after", "last_seq", "count"} {
		if _, ok := doc[k].(float64); !ok {
			t.Errorf("file field %s = %#v, want a number", k, doc[k])
		}
	}
	required := []string{"operation_code", "operation_name", "national_operation_code", "operated_at", "identifier", "licence_number", "name",
		"type_code", "issuer_name", "issuer_code", "definer_name", "definer_code", "holder_name", "holder_code", "holder_code_type",
		"issue_date", "valid_from", "area_code", "item_name", "item_code", "status_code", "status_name"}
	optional := map[string]bool{"reason": true, "valid_to": true, "previous_identifier": true, "new_identifier": true}
	changes, _ := doc["changes"].([]any)
	if len(changes) == 0 {
		t.Fatal("no changes in the file")
	}
	for i, c := range changes {
		rec := c.(map[string]any)
		for _, k := range required {
			if s, ok := rec[k].(string); !ok || s == "" {
				t.Errorf("record %d: %s = %#v, want a non-empty string", i, k, rec[k])
			}
		}
		for _, k := range []string{"seq", "version"} {
			if v, ok := rec[k].(float64); !ok || v < 1 {
				t.Errorf("record %d: %s = %#v, want a positive number", i, k, rec[k])
			}
		}
		for k := range rec {
			if !optional[k] && k != "seq" && k != "version" && !strings.Contains(strings.Join(required, ","), k) {
				t.Errorf("record %d: undocumented field %s", i, k)
			}
		}
		if len(rec["area_code"].(string)) != 6 || len(rec["type_code"].(string)) != 21 || len(rec["issuer_code"].(string)) != 18 || len(rec["definer_code"].(string)) != 18 {
			t.Errorf("record %d: codes of the wrong length: %v", i, rec)
		}
	}
}

// validateFile validates the JSON file against the ExchangeFile schema of the OpenAPI document.
func validateFile(t *testing.T, body []byte) {
	t.Helper()
	doc := loadOpenAPI(t)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas["ExchangeFile"].Value
	if err := s.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.EnableFormatValidation()); err != nil {
		t.Fatalf("the JSON file does not match ExchangeFile: %v", err)
	}
}

func xmllint(t *testing.T, body []byte) {
	t.Helper()
	fixtures.NeedTool(t, "xmllint", "libxml2-utils")
	path := filepath.Join(t.TempDir(), "exchange.xml")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("xmllint", "--noout", path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

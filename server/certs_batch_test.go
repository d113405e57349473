package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/inventory"
)

func init() {
	expect(map[string]string{
		"batches.create": "BC", "batches.list": "ABCU", "batches.get": "ABCU", "batches.zip": "ABCU",
	})
}

func foodMapping(seal string) map[string]any {
	return map[string]any{"type_code": demo.TypeFood, "item_code": "000117001001", "seal_id": seal,
		"holder_name_column": "经营者名称", "holder_code_column": "统一社会信用代码", "valid_to_column": "有效期至"}
}

// upload posts a batch file as multipart/form-data with a JSON mapping part.
func upload(t testing.TB, e *testenv.Env, user, name string, data []byte, mapping map[string]any, dryRun bool) *testenv.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if data != nil {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(data)
	}
	if mapping != nil {
		raw, _ := json.Marshal(mapping)
		mw.WriteField("mapping", string(raw))
	}
	if dryRun {
		mw.WriteField("dry_run", "true")
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/certificates/batch", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.Tokens[user])
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// waitBatch polls a batch until it is done or failed.
func waitBatch(t testing.TB, e *testenv.Env, user, id string) certs.Batch {
	t.Helper()
	var b certs.Batch
	waitFor(t, "batch "+id, func() bool {
		e.Must(200, "GET", "/api/v1/certificates/batches/"+id, user, nil).Decode(t, &b)
		return b.Status == certs.BatchDone || b.Status == certs.BatchFailed
	})
	return b
}

// addStock receives n more food blanks at the city market regulator from first on and hands
// them to 广元市利州区行政审批局.
func addStock(t testing.TB, e *testenv.Env, first, n int) {
	t.Helper()
	ctx := context.Background()
	dept := certseal.Actor{UserID: "test", Username: "test", OrgID: e.Orgs["广元市市场监督管理局"], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleDeptOfficer}
	s := func(i int) string { return fmt.Sprintf("SC%08d", i) }
	if _, err := e.App.Inventory.Receive(ctx, dept, inventory.Receipt{TypeCode: demo.TypeFood, First: s(first), Last: s(first + n - 1),
		Channel: catalogue.ChannelPrinter, Supplier: "成都川印证件印务有限公司", Contract: "GYSJ-2026-009", UnitCostFen: 120}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Inventory.Transfer(ctx, dept, inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: demo.TypeFood,
		ToOrgID: e.Orgs["广元市利州区行政审批局"], Ranges: []inventory.SerialRange{{First: s(first), Last: s(first + n - 1)}}, Document: "补充下发"}); err != nil {
		t.Fatal(err)
	}
}

// TestBatchDryRun10000 checks 10,000 rows without issuing anything.
func TestBatchDryRun10000(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 rows")
	}
	e := testenv.Start(t)
	addStock(t, e, 100001, 10000)
	seal := sealOf(t, e, "lizhou-clerk")
	data := csvOf(t, batchRows(t, 10000, 0), true)
	m := foodMapping(seal)
	m["first_serial"] = "SC00100001"
	before := e.Snapshot()
	start := time.Now()
	r := upload(t, e, "lizhou-clerk", "10000.csv", data, m, true)
	elapsed := time.Since(start)
	if r.Status != 200 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	var rep certs.BatchReport
	r.Decode(t, &rep)
	if rep.Total != 10000 || rep.Valid != 10000 || len(rep.Errors) != 0 {
		t.Fatalf("report: total %d valid %d errors %v", rep.Total, rep.Valid, rep.Errors[:min(5, len(rep.Errors))])
	}
	t.Logf("dry run of 10,000 rows (%d KB of CSV): %v", len(data)>>10, elapsed)
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("a dry run wrote to the database")
	}
	// beyond the stock: rows 501.. of a batch from SC00000001 are not 利州区's blanks
	m["first_serial"] = "SC00000001"
	upload(t, e, "lizhou-clerk", "10000.csv", data, m, true).Decode(t, &rep)
	if rep.Valid != 500 || len(rep.Errors) != 9500 || rep.Errors[0].Row != 502 || !strings.Contains(rep.Errors[0].Reason, "SC00000501") {
		t.Fatalf("report: valid %d, %d errors, first %+v", rep.Valid, len(rep.Errors), rep.Errors[0])
	}
}

// TestBatchIssue300 issues 300 certificates from a CSV in the background and downloads their
// PDFs as a ZIP.
func TestBatchIssue300(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	data := csvOf(t, batchRows(t, 300, 0), true)
	m := foodMapping(seal)
	m["first_serial"] = "SC00000001"
	start := time.Now()
	r := upload(t, e, "lizhou-clerk", "食品经营许可-第一批.csv", data, m, false)
	if r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var b certs.Batch
	r.Decode(t, &b)
	if b.Status != certs.BatchChecking || b.Total != 300 || r.Header.Get("Location") != "/api/v1/certificates/batches/"+b.ID {
		t.Fatalf("batch %+v", b)
	}
	e.Must(404, "GET", "/api/v1/certificates/batches/"+b.ID, "zhaohua-clerk", nil)
	b = waitBatch(t, e, "lizhou-officer", b.ID)
	t.Logf("300 certificates in %v", time.Since(start))
	if b.Status != certs.BatchDone || b.Done != 300 || b.Failed != 0 || len(b.Errors) != 0 {
		t.Fatalf("batch %+v", b)
	}
	var l struct{ Items []certs.Certificate }
	e.Must(200, "GET", "/api/v1/certificates?limit=500", "lizhou-clerk", nil).Decode(t, &l)
	if len(l.Items) != 300 {
		t.Fatalf("%d certificates", len(l.Items))
	}
	numbers := map[string]certs.Certificate{}
	for _, c := range l.Items {
		numbers[c.LicenceNumber] = c
	}
	fs := foodFixtures(t)
	last := l.Items[0] // newest: row 301, serial SC00000300
	if last.Serial != "SC00000300" || last.Holder.Name != fs[299%len(fs)].Fields["经营者名称"] || last.Values["经营项目"] != fs[299%len(fs)].Fields["经营项目"] {
		t.Fatalf("last certificate %+v", last)
	}
	// the ZIP
	zr := e.Must(200, "GET", "/api/v1/certificates/batches/"+b.ID+"/zip", "lizhou-clerk", nil)
	if ct := zr.Header.Get("Content-Type"); ct != "application/zip" {
		t.Fatalf("content type %q", ct)
	}
	z, err := zip.NewReader(bytes.NewReader(zr.Body), int64(len(zr.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(z.File) != 600 { // the food licence is pdf+ofd: a PDF and an OFD per certificate
		t.Fatalf("%d files in the ZIP", len(z.File))
	}
	for _, f := range z.File {
		if name, ok := strings.CutSuffix(f.Name, ".ofd"); ok {
			c, ok := numbers[name]
			rc, _ := f.Open()
			pkg, _ := io.ReadAll(rc)
			rc.Close()
			if !ok || !bytes.HasPrefix(pkg, []byte("PK\x03\x04")) || len(pkg) != c.OFDSize {
				t.Fatalf("%s: %d bytes, want the OFD of a certificate (%d)", f.Name, len(pkg), c.OFDSize)
			}
			continue
		}
		c, ok := numbers[strings.TrimSuffix(f.Name, ".pdf")]
		if !ok {
			t.Fatalf("ZIP entry %s is not a licence number", f.Name)
		}
		rc, _ := f.Open()
		pdf, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) != c.PDFSize {
			t.Fatalf("%s: %d bytes, want %d", f.Name, len(pdf), c.PDFSize)
		}
		if f == z.File[0] || f == z.File[len(z.File)-2] {
			if out := pdfsig(t, pdf); out != "" && !strings.Contains(out, "Signature is Valid.") {
				t.Fatalf("pdfsig on batch PDF %s:\n%s", f.Name, out)
			}
		}
	}
	// the same file again: every serial is used now, so the check fails and nothing is issued
	r = upload(t, e, "lizhou-clerk", "again.csv", data, m, false)
	r.Decode(t, &b)
	b = waitBatch(t, e, "lizhou-clerk", b.ID)
	if b.Status != certs.BatchFailed || b.Done != 0 || len(b.Errors) != 300 || !strings.Contains(b.Errors[0].Reason, "可用库存") {
		t.Fatalf("second batch: %s, done %d, %d errors", b.Status, b.Done, len(b.Errors))
	}
	e.Must(409, "GET", "/api/v1/certificates/batches/"+b.ID+"/zip", "lizhou-clerk", nil)
	var bl struct{ Items []certs.Batch }
	e.Must(200, "GET", "/api/v1/certificates/batch", "admin", nil).Decode(t, &bl)
	if len(bl.Items) != 2 || bl.Items[0].ID != b.ID {
		t.Fatalf("batch list %+v", bl.Items)
	}
}

// TestBatchXLSX issues from an Excel sheet with a serial column and real date cells.
func TestBatchXLSX(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	rows := batchRows(t, 30, 101)
	f := excelize.NewFile()
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if i > 0 && rows[0][j] == "有效期至" {
				d, _ := time.Parse("2006年1月2日", v)
				f.SetCellValue("Sheet1", cell, d)
				continue
			}
			f.SetCellValue("Sheet1", cell, v)
		}
	}
	style, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	f.SetColStyle("Sheet1", "H", style)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	m := foodMapping(seal)
	m["blank_serial_column"] = "印制编号"
	var rep certs.BatchReport
	r := upload(t, e, "lizhou-clerk", "batch.xlsx", buf.Bytes(), m, true)
	r.Decode(t, &rep)
	if r.Status != 200 || rep.Valid != 30 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	var b certs.Batch
	upload(t, e, "lizhou-clerk", "batch.xlsx", buf.Bytes(), m, false).Decode(t, &b)
	b = waitBatch(t, e, "lizhou-clerk", b.ID)
	if b.Status != certs.BatchDone || b.Done != 30 {
		t.Fatalf("batch %+v", b)
	}
	var l struct{ Items []certs.Certificate }
	e.Must(200, "GET", "/api/v1/certificates?limit=50", "lizhou-clerk", nil).Decode(t, &l)
	fs := foodFixtures(t)
	want, _ := time.Parse("2006年1月2日", fs[29].Fields["有效期至"])
	if len(l.Items) != 30 || l.Items[0].Serial != "SC00000130" || l.Items[0].ValidTo != want.Format("2006-01-02") {
		t.Fatalf("%d certificates, newest %+v", len(l.Items), l.Items[0])
	}
}

// TestBatchBadRows: every bad row is reported with its row number and a Chinese reason; a dry
// run writes nothing; a real batch with bad rows issues nothing.
func TestBatchBadRows(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	rows := batchRows(t, 12, 1)
	col := func(name string) int {
		for i, h := range rows[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	rows[3][col("统一社会信用代码")] = "91510802AA191BG790" // row 4: check character
	rows[5][col("有效期至")] = "明年"                     // row 6
	rows[7][col("印制编号")] = rows[2][col("印制编号")]     // row 8 repeats row 3's serial
	rows[9][col("印制编号")] = "SC00009999"             // row 10: not 利州区's stock
	rows[10][col("有效期至")] = "2026-04-01"            // row 11: shorter than 12 months
	rows[11][col("经营者名称")] = ""                     // row 12
	data := csvOf(t, rows, false)
	m := foodMapping(seal)
	m["blank_serial_column"] = "印制编号"
	before := e.Snapshot()
	var rep certs.BatchReport
	upload(t, e, "lizhou-clerk", "bad.csv", data, m, true).Decode(t, &rep)
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("a dry run wrote to the database")
	}
	got := map[int]string{}
	for _, er := range rep.Errors {
		got[er.Row] = er.Reason
	}
	want := map[int]string{4: "校验位", 6: "明年", 8: "与第3行重复", 10: "SC00009999", 11: "不能短于12个月", 12: "持证主体名称"}
	if rep.Total != 12 || rep.Valid != 6 || len(got) != len(want) {
		t.Fatalf("report %+v", rep)
	}
	for row, w := range want {
		if !strings.Contains(got[row], w) {
			t.Errorf("row %d: %q, want it to mention %q", row, got[row], w)
		}
	}
	var b certs.Batch
	upload(t, e, "lizhou-clerk", "bad.csv", data, m, false).Decode(t, &b)
	b = waitBatch(t, e, "lizhou-clerk", b.ID)
	if b.Status != certs.BatchFailed || b.Done != 0 || len(b.Errors) != 6 || b.Errors[0].Row != 4 {
		t.Fatalf("batch %+v", b)
	}
	var l struct{ Items []certs.Certificate }
	e.Must(200, "GET", "/api/v1/certificates", "lizhou-clerk", nil).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("%d certificates issued from a batch with bad rows", len(l.Items))
	}
}

// TestBatchRefusals: uploads that cannot be used at all are refused with nothing written.
func TestBatchRefusals(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	good := csvOf(t, batchRows(t, 3, 1), false)
	m := foodMapping(seal)
	m["blank_serial_column"] = "印制编号"
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	gbk := []byte("\xbe\xad\xd3\xaa\xd5\xdf\xc3\xfb\xb3\xc6\n\xb2\xe2\xca\xd4\n") // "经营者名称\n测试\n" in GBK
	before := e.Snapshot()
	for _, c := range []struct {
		name, user, file string
		data             []byte
		mapping          map[string]any
		want             int
	}{
		{"no file", "lizhou-clerk", "", nil, m, 400},
		{"empty file", "lizhou-clerk", "a.csv", []byte{}, m, 400},
		{"header only", "lizhou-clerk", "a.csv", []byte("经营者名称,统一社会信用代码\n"), m, 400},
		{"GBK", "lizhou-clerk", "a.csv", gbk, m, 400},
		{"not xlsx", "lizhou-clerk", "a.xlsx", []byte("PK\x03\x04garbage"), m, 400},
		{"unknown column", "lizhou-clerk", "a.csv", good, with("holder_name_column", "名称"), 400},
		{"no holder", "lizhou-clerk", "a.csv", good, with("holder_code_column", nil), 400},
		{"two serial sources", "lizhou-clerk", "a.csv", good, with("first_serial", "SC00000001"), 400},
		{"unknown mapping key", "lizhou-clerk", "a.csv", good, with("colour", "red"), 400},
		{"unknown type", "lizhou-clerk", "a.csv", good, with("type_code", "11100000000013338W999"), 404},
		{"no type", "lizhou-clerk", "a.csv", good, with("type_code", nil), 400},
		{"too big", "lizhou-clerk", "a.csv", bytes.Repeat([]byte("a,b\n"), 21<<18), m, 413},
		{"department officer", "scj", "a.csv", good, m, 403},
		{"auditor", "auditor", "a.csv", good, m, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := upload(t, e, c.user, c.file, c.data, c.mapping, false)
			if r.Status != c.want {
				t.Fatalf("got %d, want %d\n%s", r.Status, c.want, r.Body)
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Fatal("a refused upload changed the database")
			}
		})
	}
	if r := e.Do("POST", "/api/v1/certificates/batch", "lizhou-clerk", map[string]any{"file": "x"}); r.Status != 415 {
		t.Fatalf("JSON body: %d", r.Status)
	}
	e.Must(404, "GET", "/api/v1/certificates/batches/1", "lizhou-clerk", nil)
	e.Must(404, "GET", "/api/v1/certificates/batches/x/zip", "lizhou-clerk", nil)
}

// TestBatchResume closes the service while a batch is issuing and opens it again: the batch
// resumes and every row is issued exactly once.
func TestBatchResume(t *testing.T) {
	dir := t.TempDir()
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China), Step: time.Millisecond}
	open := func() (*app.App, *testenv.Env) {
		a, err := app.Open(app.Config{Data: dir, NoSync: true, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		e := &testenv.Env{T: t, App: a, Clock: clock, Tokens: map[string]string{}}
		e.HTTP = httptest.NewServer(a.Server.Handler())
		return a, e
	}
	a, e := open()
	res, err := a.LoadDemo()
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, l := range res.Logins {
		tokens[l.Username] = l.Token
	}
	e.Tokens = tokens
	seal := sealOf(t, e, "lizhou-clerk")
	m := foodMapping(seal)
	m["first_serial"] = "SC00000001"
	var b certs.Batch
	upload(t, e, "lizhou-clerk", "a.csv", csvOf(t, batchRows(t, 120, 0), false), m, false).Decode(t, &b)
	waitFor(t, "some rows issued", func() bool {
		var cur certs.Batch
		e.Must(200, "GET", "/api/v1/certificates/batches/"+b.ID, "lizhou-clerk", nil).Decode(t, &cur)
		return cur.Done >= 10
	})
	e.HTTP.Close()
	a.Close()
	var mid certs.Batch
	a, e = open()
	defer func() { e.HTTP.Close(); a.Close() }()
	e.Tokens = tokens
	e.Must(200, "GET", "/api/v1/certificates/batches/"+b.ID, "lizhou-clerk", nil).Decode(t, &mid)
	t.Logf("interrupted after %d of %d rows (status %s)", mid.Done, mid.Total, mid.Status)
	b = waitBatch(t, e, "lizhou-clerk", b.ID)
	if b.Status != certs.BatchDone || b.Done != 120 || b.Failed != 0 {
		t.Fatalf("batch %+v", b)
	}
	var l struct{ Items []certs.Certificate }
	e.Must(200, "GET", "/api/v1/certificates?limit=500", "lizhou-clerk", nil).Decode(t, &l)
	serials := map[string]bool{}
	for _, c := range l.Items {
		serials[c.Serial] = true
	}
	if len(l.Items) != 120 || len(serials) != 120 {
		t.Fatalf("%d certificates on %d serials, want 120", len(l.Items), len(serials))
	}
}

// BenchmarkBatchIssue issues batches of 100 food licences through the HTTP API and the
// background runner (fsync off), and reports certificates per second.
func BenchmarkBatchIssue(b *testing.B) {
	e := testenv.Start(b)
	addStock(b, e, 200001, 100*(b.N+1))
	seal := sealOf(b, e, "lizhou-clerk")
	data := csvOf(b, batchRows(b, 100, 0), false)
	m := foodMapping(seal)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		m["first_serial"] = fmt.Sprintf("SC%08d", 200001+100*i)
		var bt certs.Batch
		upload(b, e, "lizhou-clerk", "b.csv", data, m, false).Decode(b, &bt)
		if bt = waitBatch(b, e, "lizhou-clerk", bt.ID); bt.Done != 100 {
			b.Fatalf("batch %+v", bt)
		}
	}
	b.ReportMetric(float64(100*b.N)/time.Since(start).Seconds(), "certs/s")
}

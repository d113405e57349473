package web_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
)

// The helpers below are copies of those of package server's tests, which the web tests used
// while they lived there.

var pathVar = regexp.MustCompile(`\{[^}]+\}`)

// fixture is one record of the repository's testdata/food-licence-samples.json.
type fixture = fixtures.Food

func foodFixtures(t testing.TB) []fixture { return fixtures.FoodRecords(t) }

// issueRequest turns a fixture into an issue request for the food licence: the holder from its
// name and credit code, the validity from 有效期至, and the fields the service fills in itself
// (issuer, dates, the licence number) left out.
func issueRequest(f fixture, sealID, serial string) certs.IssueRequest {
	values := map[string]string{}
	for k, v := range f.Fields {
		switch k {
		case "发证机关", "发证日期", "有效期至", "许可证编号":
			continue
		}
		values[k] = v
	}
	to, _ := time.Parse("2006年1月2日", f.Fields["有效期至"])
	return certs.IssueRequest{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: sealID, Serial: serial,
		Holder: certs.Holder{Name: f.Fields["经营者名称"], Code: f.Fields["统一社会信用代码"], CodeType: certs.CodeUSCC},
		Values: values, ValidTo: to.Format("2006-01-02")}
}

// sealOf returns the id of the first seal the user's organisation owns.
func sealOf(t testing.TB, e *testenv.Env, user string) string {
	t.Helper()
	var l struct{ Items []struct{ ID string } }
	e.Must(200, "GET", "/api/v1/seals", user, nil).Decode(t, &l)
	if len(l.Items) == 0 {
		t.Fatalf("%s's organisation has no seal", user)
	}
	return l.Items[0].ID
}

func issue(t testing.TB, e *testenv.Env, user string, req certs.IssueRequest) certs.Certificate {
	t.Helper()
	var c certs.Certificate
	e.Must(201, "POST", "/api/v1/certificates", user, req).Decode(t, &c)
	return c
}

// batchColumns are the columns of a batch sheet built from the fixtures: the holder, the
// template's fields and the validity, without what the service fills in itself.
var batchColumns = []string{"经营者名称", "统一社会信用代码", "法定代表人（负责人）", "住所", "经营场所", "主体业态", "经营项目",
	"有效期至", "日常监督管理机构", "日常监督管理人员", "投诉举报电话", "签发人"}

// batchRows returns n rows from the fixtures (repeated), each with its cells in batchColumns
// order, and, with serials, a last column 印制编号 counting up from first.
func batchRows(t testing.TB, n int, serialFrom int) [][]string {
	fs := foodFixtures(t)
	header := append([]string{}, batchColumns...)
	if serialFrom > 0 {
		header = append(header, "印制编号")
	}
	rows := [][]string{header}
	for i := range n {
		f := fs[i%len(fs)]
		var row []string
		for _, c := range batchColumns {
			row = append(row, f.Fields[c])
		}
		if serialFrom > 0 {
			row = append(row, fmt.Sprintf("SC%08d", serialFrom+i))
		}
		rows = append(rows, row)
	}
	return rows
}

func csvOf(t testing.TB, rows [][]string, bom bool) []byte {
	var buf bytes.Buffer
	if bom {
		buf.WriteString("\ufeff")
	}
	w := csv.NewWriter(&buf)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitFor polls cond until it holds, failing the test after 60 seconds (a deadline, not a timing
// assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pdfText returns the text pdftotext finds in pdf, or "" (with a log line) when pdftotext is
// not installed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	p := filepath.Join(t.TempDir(), "p.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

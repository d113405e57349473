package testenv

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
)

// IssueRequest turns a sample record into an issue request for the food licence: the holder
// from its name and credit code, the validity from 有效期至, and the fields the service fills in
// itself (issuer, dates, the licence number) left out.
func IssueRequest(f fixtures.Food, sealID, serial string) certs.IssueRequest {
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

// SealOf returns the id of the first seal the user's organisation owns; it fails t when there
// is none.
func SealOf(t testing.TB, e *Env, user string) string {
	t.Helper()
	var l struct{ Items []struct{ ID string } }
	e.Must(200, "GET", "/api/v1/seals", user, nil).Decode(t, &l)
	if len(l.Items) == 0 {
		t.Fatalf("%s's organisation has no seal", user)
	}
	return l.Items[0].ID
}

// Issue issues req as user through the API and returns the certificate; anything but 201 fails t.
func Issue(t testing.TB, e *Env, user string, req certs.IssueRequest) certs.Certificate {
	t.Helper()
	var c certs.Certificate
	e.Must(201, "POST", "/api/v1/certificates", user, req).Decode(t, &c)
	return c
}

// BatchColumns are the columns of a batch sheet built from the sample records: the holder, the
// template's fields and the validity, without what the service fills in itself.
var BatchColumns = []string{"经营者名称", "统一社会信用代码", "法定代表人（负责人）", "住所", "经营场所", "主体业态", "经营项目",
	"有效期至", "日常监督管理机构", "日常监督管理人员", "投诉举报电话", "签发人"}

// BatchRows returns a header and n rows from the sample records (repeated), each with its cells
// in BatchColumns order and, when serialFrom > 0, a last column 印制编号 counting up from it.
func BatchRows(t testing.TB, n int, serialFrom int) [][]string {
	fs := fixtures.FoodRecords(t)
	header := append([]string{}, BatchColumns...)
	if serialFrom > 0 {
		header = append(header, "印制编号")
	}
	rows := [][]string{header}
	for i := range n {
		f := fs[i%len(fs)]
		var row []string
		for _, c := range BatchColumns {
			row = append(row, f.Fields[c])
		}
		if serialFrom > 0 {
			row = append(row, fmt.Sprintf("SC%08d", serialFrom+i))
		}
		rows = append(rows, row)
	}
	return rows
}

// CSV returns rows as a CSV file, with a byte-order mark when bom is set.
func CSV(t testing.TB, rows [][]string, bom bool) []byte {
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

// WaitFor polls cond until it holds, failing t after 60 seconds (a deadline, not a timing
// assertion).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PDFText returns the text pdftotext finds in pdf (fixtures.NeedTool decides what a missing
// pdftotext means).
func PDFText(t *testing.T, pdf []byte) string {
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

package server_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
)

// spaceBomb is an XLSX-like zip (a few hundred KB) whose sheet unzips to n spaces.
func spaceBomb(t *testing.T, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for name, body := range map[string]string{
		"[Content_Types].xml":        `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"xl/workbook.xml":            `<?xml version="1.0"?><workbook/>`,
		"xl/worksheets/sheet1.xml":   "",
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0"?><Relationships/>`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
		if name == "xl/worksheets/sheet1.xml" {
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			for k := 0; k < n; k += len(chunk) {
				w.Write(chunk)
			}
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestBatchZipBomb: a batch upload of an XLSX that unzips to 200 MB is refused with 413 and a
// Chinese message, and nothing is stored.
func TestBatchZipBomb(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	before := e.Snapshot()
	r := upload(t, e, "lizhou-clerk", "bomb.xlsx", spaceBomb(t, 200<<20), foodMapping(seal), false)
	if r.Status != 413 || !strings.Contains(string(r.Body), "payload_too_large") || !strings.Contains(string(r.Body), "解压后超过") {
		t.Fatalf("bomb upload: %d %s", r.Status, r.Body)
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("a refused upload changed the database")
	}
}

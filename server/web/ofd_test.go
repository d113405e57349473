package web_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestWebOFD: the certificate page of a pdf+ofd licence links its OFD, which downloads as the
// sealed package; the public verification page takes the OFD as it takes a PDF: 有效, and a
// package with a changed byte 文件已被改动.
func TestWebOFD(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	c := issue(t, w.Env, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, w.Env, "lizhou-clerk"), "SC00000001"))
	b := w.client(t)
	if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", st, body)
	}
	st, page, _ := b.do("GET", "/certificates/"+c.ID, nil)
	if st != 200 || !strings.Contains(page, `href="/certificates/`+c.ID+`/certificate.ofd" id="ofd-link"`) {
		t.Fatalf("certificate page: %d, no OFD link\n%s", st, page)
	}
	st, pkg, hdr := b.do("GET", "/certificates/"+c.ID+"/certificate.ofd", nil)
	if st != 200 || hdr.Get("Content-Type") != "application/ofd" || len(pkg) != c.OFDSize {
		t.Fatalf("OFD download: %d %s, %d bytes (want %d)", st, hdr.Get("Content-Type"), len(pkg), c.OFDSize)
	}
	pub := w.client(t)
	verify := func(data []byte) string {
		t.Helper()
		_, form, _ := pub.do("GET", "/verify", nil)
		st, body, _ := pub.multipart("/verify", map[string]string{"csrf": csrfOf(t, form)}, "证照.ofd", data)
		if st != 200 {
			t.Fatalf("verify page: %d\n%s", st, body)
		}
		return body
	}
	if body := verify([]byte(pkg)); !strings.Contains(body, "有效") || !strings.Contains(body, c.LicenceNumber) {
		t.Errorf("verify the OFD: no 有效 / licence number\n%s", body)
	}
	bad := []byte(pkg)
	bad = bytes.Clone(bad)
	i := bytes.Index(bad, []byte("Doc_0/Pages/Page_0/Content.xml"))
	bad[i+200] ^= 1
	if body := verify(bad); !strings.Contains(body, "文件已被改动") {
		t.Errorf("verify a changed OFD: no 文件已被改动\n%s", body)
	}
}

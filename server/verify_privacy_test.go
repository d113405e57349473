package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"certseal/certs"
	"certseal/cmd/app/testenv"
)

// TestPublicVerifyPrivacy: anyone can walk the sequential licence numbers, so the public answers
// (GET /verify/{ref}, POST /api/v1/verify and the public page) carry a natural person's name and
// ID number masked and no free-text status reason; the issuer still reads both through the
// authenticated API.
func TestPublicVerifyPrivacy(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	const reason = "经营场所不符合要求，责令整改"
	for i, c := range []struct {
		name                 string
		holder               certs.Holder
		wantName, wantCode   string
		hiddenName, hiddenID string // must not appear in any public answer
	}{
		{"citizen", certs.Holder{Name: "张三", Code: "11010519491231002X", CodeType: certs.CodeIDCard}, "张*", "110105********002X", "张三", "11010519491231002X"},
		{"citizen, compound surname", certs.Holder{Name: "欧阳娜娜", Code: "11010519491231002X", CodeType: certs.CodeIDCard}, "欧***", "110105********002X", "欧阳娜娜", "11010519491231002X"},
		{"other identity document", certs.Holder{Name: "李四", Code: "E12345678", CodeType: certs.CodeOtherID}, "李*", "E1*****78", "李四", "E12345678"},
		{"business", certs.Holder{Name: fs[2].Fields["经营者名称"], Code: fs[2].Fields["统一社会信用代码"], CodeType: certs.CodeUSCC},
			fs[2].Fields["经营者名称"], fs[2].Fields["统一社会信用代码"], "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := issueRequest(fs[i], seal, "SC0000040"+string(rune('0'+i)))
			req.Holder = c.holder
			delete(req.Values, "经营者名称")
			if c.holder.CodeType != certs.CodeOtherID { // the food template's field takes a USCC or a citizen ID only
				delete(req.Values, "统一社会信用代码")
			}
			cert := issue(t, e, "lizhou-clerk", req)
			e.Must(200, "POST", "/api/v1/certificates/"+cert.ID+"/operations", "lizhou-clerk", map[string]any{"op": "suspend", "reason": reason})

			public := map[string][]byte{}
			r := e.Must(200, "GET", "/verify/"+cert.LicenceNumber, "", nil)
			public["GET /verify/{ref}"] = r.Body
			var v certs.PublicView
			r.Decode(t, &v)
			if v.HolderName != c.wantName || v.HolderCode != c.wantCode || v.Status != certs.StatusSuspended || v.StatusLabel != "暂扣" {
				t.Errorf("public view: holder %q %q, status %s %s; want %q %q, 02 暂扣", v.HolderName, v.HolderCode, v.Status, v.StatusLabel, c.wantName, c.wantCode)
			}
			pdf := e.Must(200, "GET", "/api/v1/certificates/"+cert.ID+"/pdf", "lizhou-clerk", nil).Body
			var verdict certs.PDFVerdict
			r = e.Must(200, "POST", "/api/v1/verify", "", pdf)
			public["POST /api/v1/verify"] = r.Body
			r.Decode(t, &verdict)
			if verdict.Verdict != certs.VerdictSuspended || verdict.Certificate == nil || verdict.Certificate.HolderName != c.wantName {
				t.Errorf("PDF verdict: %s", r.Body)
			}
			resp, err := http.Get(e.HTTP.URL + "/verify?ref=" + url.QueryEscape(cert.LicenceNumber))
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			public["the public page"] = page
			if resp.StatusCode != 200 || !bytes.Contains(page, []byte(">"+c.wantName+"<")) || !bytes.Contains(page, []byte(">"+c.wantCode+"<")) || !bytes.Contains(page, []byte("暂扣")) {
				t.Errorf("public page (%d) lacks %q, %q or 暂扣:\n%s", resp.StatusCode, c.wantName, c.wantCode, page)
			}
			for where, body := range public {
				for _, secret := range []string{reason, c.hiddenName, c.hiddenID} {
					if secret != "" && strings.Contains(string(body), secret) {
						t.Errorf("%s shows %q", where, secret)
					}
				}
			}
			// the issuer's own users still see everything
			var full certs.Certificate
			e.Must(200, "GET", "/api/v1/certificates/"+cert.ID, "lizhou-clerk", nil).Decode(t, &full)
			if full.Holder != c.holder || full.StatusReason != reason {
				t.Errorf("the issuer reads holder %+v, reason %q", full.Holder, full.StatusReason)
			}
		})
	}
}

// TestMaskPersonName pins the masking rule of a natural person's name.
func TestMaskPersonName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"张三", "张*"}, {"欧阳娜娜", "欧***"}, {"王", "*"}, {"", ""}, {"阿卜杜·热合曼", "阿******"},
		{"John Smith", "J*********"},
	} {
		if got := certs.MaskPersonName(c.in); got != c.want {
			t.Errorf("MaskPersonName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

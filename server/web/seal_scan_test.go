package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"certseal/internal/audit"
)

// scanPNG is a seal scan: a red ring on a transparent background, 300 pixels across.
func scanPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			dx, dy := x-150, y-150
			if d := dx*dx + dy*dy; d < 145*145 && d > 130*130 {
				img.Set(x, y, color.NRGBA{R: 0xE6, A: 0xFF})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWebSealScan uploads a scan for a seal on the seals page: a file that is not a PNG is
// refused in Chinese and changes nothing; a PNG becomes the seal's picture (audited), and
// clearing it brings the drawing back.
func TestWebSealScan(t *testing.T) {
	e := startWebFix(t)
	id := sealOf(t, e.Env, "lizhou-clerk")
	admin := e.signedIn(t, "admin")
	_, page, _ := admin.do("GET", "/admin/seals", nil)
	if !strings.Contains(page, `action="/admin/seals/`+id+`/scan"`) {
		t.Fatal("the seal's card has no scan upload form")
	}
	csrf := csrfOf(t, page)
	path := "/admin/seals/" + id + "/scan"
	st, page, _ := admin.multipart(path, map[string]string{"csrf": csrf, "action": "upload"}, "scan.png", []byte("这不是图片"))
	if st != 400 || !strings.Contains(page, `id="error"`) || !strings.Contains(page, "PNG") {
		t.Fatalf("a file that is not a PNG: %d\n%s", st, page)
	}
	if s, _ := e.App.Seals.Get(context.Background(), id); s.HasScan {
		t.Fatal("a refused upload set the scan")
	}
	if st, page, _ := admin.multipart(path, map[string]string{"csrf": csrf, "action": "upload"}, "", nil); st != 400 || !strings.Contains(page, "请选择印章扫描件") {
		t.Fatalf("no file: %d", st)
	}
	if st, _, h := admin.multipart(path, map[string]string{"csrf": csrf, "action": "upload"}, "scan.png", scanPNG(t)); st != 303 || h.Get("Location") != "/admin/seals" {
		t.Fatalf("upload: %d %v", st, h)
	}
	if s, _ := e.App.Seals.Get(context.Background(), id); !s.HasScan {
		t.Fatal("the upload did not set the scan")
	}
	if _, page, _ := admin.do("GET", "/admin/seals", nil); !strings.Contains(page, "已上传印章") || !strings.Contains(page, "更换扫描件") {
		t.Fatal("after the upload: no message or no 更换扫描件")
	}
	evs, _, err := e.App.Audit.List(context.Background(), audit.Filter{}, 0, 20)
	if err != nil || !strings.Contains(evs[0].Action, "scan") || evs[0].Username != "admin" {
		t.Fatalf("the last audit event: %+v %v", evs[0], err)
	}
	if st, _, _ := admin.multipart(path, map[string]string{"csrf": csrf, "action": "clear"}, "", nil); st != 303 {
		t.Fatalf("clear: %d", st)
	}
	if s, _ := e.App.Seals.Get(context.Background(), id); s.HasScan {
		t.Fatal("clearing left the scan")
	}
	// A clerk may not upload.
	clerk := e.signedIn(t, "lizhou-clerk")
	_, cp, _ := clerk.do("GET", "/issue", nil)
	if st, _, _ := clerk.multipart(path, map[string]string{"csrf": csrfOf(t, cp), "action": "upload"}, "scan.png", scanPNG(t)); st != 403 {
		t.Fatalf("a clerk's upload: %d", st)
	}
}

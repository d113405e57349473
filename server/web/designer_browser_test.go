package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/templates"
)

// blankForm draws a picture of a pre-printed blank form, 200 × 140 mm at 5 px/mm: a frame and
// the grey lines a form prints under each value (the lines the test then draws boxes on).
func blankForm(t *testing.T) string {
	t.Helper()
	const k = 5
	img := image.NewRGBA(image.Rect(0, 0, 200*k, 140*k))
	for y := 0; y < 140*k; y++ {
		for x := 0; x < 200*k; x++ {
			img.Set(x, y, color.RGBA{0xfb, 0xf6, 0xe8, 0xff})
		}
	}
	line := func(x1, y1, x2, y2 int, c color.RGBA) {
		for x := x1 * k; x <= x2*k; x++ {
			for y := y1 * k; y <= y2*k; y++ {
				img.Set(x, y, c)
			}
		}
	}
	red := color.RGBA{0xa5, 0x17, 0x1c, 0xff}
	grey := color.RGBA{0x99, 0x99, 0x99, 0xff}
	line(5, 5, 195, 5, red)
	line(5, 135, 195, 135, red)
	line(5, 5, 5, 135, red)
	line(195, 5, 195, 135, red)
	line(40, 40, 120, 40, grey)    // under 经营者名称
	line(40, 60, 100, 60, grey)    // under 主体业态
	line(130, 110, 180, 110, grey) // under 发证日期
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "blank-form.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mouseDrag presses the left button at (x1, y1) (CSS pixels of the viewport), moves in steps to
// (x2, y2) and releases it there: real mouse events through the DevTools protocol.
func mouseDrag(x1, y1, x2, y2 float64) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.MouseEvent(chromedp.MouseMoved, x1, y1),
			chromedp.MouseEvent(chromedp.MousePressed, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		}
		for i := 1; i <= 8; i++ {
			f := float64(i) / 8
			steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x1+(x2-x1)*f, y1+(y2-y1)*f, chromedp.ButtonLeft))
		}
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x2, y2, chromedp.ButtonLeft, chromedp.ClickCount(1)))
		return chromedp.Void{}, chromedp.Do(ctx, steps...)
	}
}

// setInput sets an input's value as typed and fires its change event.
func setInput(id, value string) chromedp.Action[chromedp.Void] {
	return script(fmt.Sprintf(`(function(){var e=document.getElementById(%q); e.focus(); e.value=%q; e.dispatchEvent(new Event('change',{bubbles:true})); e.blur();})()`, id, value))
}

// TestDesignerBrowser: the 市场监管局 officer uploads a picture of a blank form, draws three
// boxes with the mouse, moves one onto another (the overlap is marked on both boxes in
// Chinese), undoes and redoes and undoes that, moves and resizes boxes, binds them to fields,
// previews, saves a version and publishes it to the food licence; then a window clerk issues a
// food licence, and pdftotext -bbox finds each value inside the box drawn for it, within 1 mm.
func TestDesignerBrowser(t *testing.T) {
	fixtures.NeedTool(t, "chromium", "chromium")
	fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	w := startWeb(t, "scj", "lizhou-clerk")
	ctx := newBrowser(t)
	w.browserLogin(t, ctx, "scj")
	scanFile := blankForm(t)
	run(t, ctx, "open the designer",
		chromedp.Navigate(w.URL+"/designer?new=1&type="+demo.TypeFood),
		chromedp.WaitVisible(chromedp.ID("#dz-sheet")),
		setInput("dz-id", "food-overlay-scj"),
		setInput("dz-name", "食品经营许可证"),
		setInput("dz-w", "200"),
		setInput("dz-h", "140"),
		chromedp.SetUploadFiles(chromedp.ID("#dz-scan-file"), []string{scanFile}),
		waitText("#dz-status", "扫描图片已上传"),
		browserWait(`document.getElementById('dz-bg').naturalWidth === 1000`),
	)
	// The sheet is 900 px wide for 200 mm: 4.5 px a millimetre.
	var left, top float64
	_ = top
	// The sheet scrolled to the top of the window, so that the whole form is under the mouse.
	rect := eval(t, ctx, `(function(){var s=document.getElementById('dz-sheet'); window.scrollTo(0, s.getBoundingClientRect().top + window.scrollY - 4); var r=s.getBoundingClientRect(); return r.left+','+r.top+','+r.width;})()`)
	parts := strings.Split(rect, ",")
	left, _ = strconv.ParseFloat(parts[0], 64)
	top, _ = strconv.ParseFloat(parts[1], 64)
	if wpx, _ := strconv.ParseFloat(parts[2], 64); math.Abs(wpx-900) > 1 {
		t.Fatalf("sheet %s px wide, want 900", parts[2])
	}
	const k = 4.5
	// px converts mm on the form to the window's CSS pixels, from where the sheet is now (a
	// click on a button scrolls the page).
	px := func(xmm, ymm float64) (float64, float64) {
		r := strings.Split(eval(t, ctx, `(function(){var r=document.getElementById('dz-sheet').getBoundingClientRect(); if (r.top < 0 || r.bottom > window.innerHeight) { window.scrollBy(0, r.top - 4); r=document.getElementById('dz-sheet').getBoundingClientRect(); } return r.left+','+r.top;})()`), ",")
		left, _ = strconv.ParseFloat(r[0], 64)
		top, _ = strconv.ParseFloat(r[1], 64)
		return left + xmm*k, top + ymm*k
	}
	drag := func(what string, x1, y1, x2, y2 float64) {
		ax, ay := px(x1, y1)
		bx, by := px(x2, y2)
		run(t, ctx, what, mouseDrag(ax, ay, bx, by))
	}
	// Three boxes drawn on the form's lines (the third a little short, resized below).
	drag("draw box 1", 40, 31, 120, 39)
	drag("draw box 2", 40, 51, 100, 59)
	drag("draw box 3", 130, 101, 170, 109)
	// Box 2 dragged onto box 1: both are marked, in Chinese.
	drag("move box 2 onto box 1", 60, 55, 60, 40)
	run(t, ctx, "the overlap is shown on the boxes",
		browserWait(`document.querySelectorAll('.dz-box.bad').length === 2`),
		waitText("#dz-problems", "区域重叠"),
		waitText(".dz-box.bad .dz-msg", "重叠"),
	)
	shot(t, ctx, "designer-problems")
	run(t, ctx, "undo, redo, undo",
		chromedp.Click(chromedp.ID("#dz-undo")),
		browserWait(`document.querySelectorAll('.dz-box.bad').length === 0 && document.getElementById('dz-problems').textContent.includes('检查通过')`),
		chromedp.Click(chromedp.ID("#dz-redo")),
		browserWait(`document.querySelectorAll('.dz-box.bad').length === 2`),
		chromedp.Click(chromedp.ID("#dz-undo")),
		browserWait(`document.querySelectorAll('.dz-box.bad').length === 0 && document.getElementById('dz-problems').textContent.includes('检查通过')`),
	)
	// The seal moved next to the date (before the resize: where it starts, it covers box 3's corner).
	run(t, ctx, "select the 42 mm seal", chromedp.Click(chromedp.ID("#dz-seal-42")))
	tx, ty := px(160, 85)
	sealAt := eval(t, ctx, `(function(){var r=document.querySelector('.dz-box.seal').getBoundingClientRect(); return (r.left+r.width/2)+','+(r.top+r.height/2);})()`)
	sp := strings.Split(sealAt, ",")
	sx, _ := strconv.ParseFloat(sp[0], 64)
	sy, _ := strconv.ParseFloat(sp[1], 64)
	run(t, ctx, "move the seal", mouseDrag(sx, sy, tx, ty))

	// Box 3 resized by its corner handle (at its bottom-right corner) from 170 to 180 mm wide.
	drag("resize box 3", 170-0.5, 109-0.5, 180-0.5, 109-0.5)
	bind := func(xmm, ymm float64, name string, extra ...chromedp.Action[chromedp.Void]) {
		x, y := px(xmm, ymm)
		steps := append([]chromedp.Action[chromedp.Void]{chromedp.MouseClickXY(x, y), chromedp.WaitVisible(chromedp.ID("#dz-p-name")), setInput("dz-p-name", name),
			waitText("#dz-props", name)}, extra...)
		run(t, ctx, "bind "+name, steps...)
	}
	bind(80, 35, "经营者名称")
	bind(70, 55, "主体业态")
	bind(133, 106, "发证日期", setInput("dz-p-align", "center"))
	run(t, ctx, "the preview shows",
		browserWait(`document.getElementById('designer').dataset.preview === 'ok' && document.getElementById('dz-preview').naturalWidth > 0`),
		waitText("#dz-problems", "检查通过"),
	)
	// The preview is the real layout with the licence type's sample record in the bound boxes.
	food, _ := templates.BuiltinByID("food-business-licence")
	svg := eval(t, ctx, `document.getElementById('designer').lastPreview`)
	for _, name := range []string{"经营者名称", "主体业态"} {
		if v := food.Sample.Values[name]; !strings.Contains(svg, `aria-label="`+v+`"`) {
			t.Errorf("the preview lacks the sample's %s %q", name, v)
		}
	}
	shot(t, ctx, "designer-editing")
	run(t, ctx, "save and publish",
		chromedp.Click(chromedp.ID("#dz-save")),
		waitText("#dz-status", "已保存：模板 food-overlay-scj 第 1 版"),
		chromedp.Click(chromedp.ID("#dz-publish")),
		waitText("#dz-status", "已发布"),
	)
	shot(t, ctx, "designer-published")

	// What was saved is what the mouse drew, to the millimetre.
	var rec struct {
		Template templates.Template `json:"template"`
	}
	w.Must(200, "GET", "/api/v1/templates/food-overlay-scj", "scj", nil).Decode(t, &rec)
	want := map[string]templates.Box{
		"经营者名称": {X: 40, Y: 31, W: 80, H: 8},
		"主体业态":  {X: 40, Y: 51, W: 60, H: 8},
		"发证日期":  {X: 130, Y: 101, W: 50, H: 8},
	}
	if len(rec.Template.Fields) != 3 {
		t.Fatalf("saved fields %+v", rec.Template.Fields)
	}
	for _, f := range rec.Template.Fields {
		b, ok := want[f.Name]
		if !ok || f.Box.X != b.X || f.Box.Y != b.Y || f.Box.W != b.W || f.Box.H != b.H {
			t.Errorf("field %s box %+v, want %+v", f.Name, f.Box, b)
		}
	}
	if f, _ := rec.Template.Field("主体业态"); !f.Required || f.MaxLength != 30 {
		t.Errorf("主体业态 bound without the licence type's settings (required, 30 characters): %+v", f)
	}
	if s := rec.Template.SealPos; s.Diameter != 42 || math.Abs(s.X-160) > 1 || math.Abs(s.Y-85) > 1 {
		t.Errorf("seal %+v, want 42 mm at 160,85", s)
	}
	var typ struct {
		TemplateID string `json:"template_id"`
	}
	w.Must(200, "GET", "/api/v1/licence-types/"+demo.TypeFood, "scj", nil).Decode(t, &typ)
	if typ.TemplateID != "food-overlay-scj" {
		t.Fatalf("the food licence prints from %q", typ.TemplateID)
	}

	// A clerk issues with it; the values are where the boxes were.
	f := foodFixtures(t)[3]
	req := certs.IssueRequest{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: sealOf(t, w.Env, "lizhou-clerk"), Serial: "SC00000001",
		Holder: certs.Holder{Name: f.Fields["经营者名称"], Code: f.Fields["统一社会信用代码"], CodeType: certs.CodeUSCC},
		Values: map[string]string{"经营者名称": f.Fields["经营者名称"], "主体业态": f.Fields["主体业态"]}, ValidTo: "2030-01-01"}
	c := issue(t, w.Env, "lizhou-clerk", req)
	if c.TemplateID != "food-overlay-scj" || c.TemplateVersion != 1 {
		t.Fatalf("issued with %s v%d", c.TemplateID, c.TemplateVersion)
	}
	pdf := w.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	words := bboxWords(t, []byte(pdf))
	day, err := time.Parse("2006-01-02", c.IssueDate)
	if err != nil {
		t.Fatalf("issue date %q: %v", c.IssueDate, err)
	}
	issued := day.Format("2006年1月2日")
	for name, value := range map[string]string{"经营者名称": f.Fields["经营者名称"], "主体业态": f.Fields["主体业态"], "发证日期": issued} {
		b := want[name]
		found := false
		for _, wd := range words {
			if wd.text != value {
				continue
			}
			found = true
			if wd.x1 < b.X-1 || wd.x2 > b.X+b.W+1 || wd.y1 < b.Y-1 || wd.y2 > b.Y+b.H+1 {
				t.Errorf("%s %q at %.1f,%.1f–%.1f,%.1f mm, outside its box %+v", name, value, wd.x1, wd.y1, wd.x2, wd.y2, b)
			}
			if name == "经营者名称" && math.Abs(wd.x1-b.X) > 1 {
				t.Errorf("%s starts at x %.1f mm, box at %.1f (left aligned)", name, wd.x1, b.X)
			}
			if name == "发证日期" && math.Abs((wd.x1+wd.x2)/2-(b.X+b.W/2)) > 1 {
				t.Errorf("%s centred at %.1f mm, box centre %.1f", name, (wd.x1+wd.x2)/2, b.X+b.W/2)
			}
		}
		if !found {
			t.Errorf("the certificate lacks %s %q; words: %v", name, value, words)
		}
	}
}

type bboxWord struct {
	text           string
	x1, y1, x2, y2 float64 // mm from the top-left corner
}

var bboxRE = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>`)

// bboxWords runs pdftotext -bbox on the PDF and returns its words in millimetres.
func bboxWords(t *testing.T, pdf []byte) []bboxWord {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-bbox", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	const mm = 25.4 / 72
	var ws []bboxWord
	for _, m := range bboxRE.FindAllStringSubmatch(string(out), -1) {
		f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v * mm }
		ws = append(ws, bboxWord{text: m[5], x1: f(1), y1: f(2), x2: f(3), y2: f(4)})
	}
	return ws
}

func init() {
	for name, roles := range map[string]string{
		"web.issue_preview_svg": "BC",
		"web.designer":          "AD", "web.designer_check": "AD", "web.designer_preview": "AD", "web.designer_scan": "AD",
		"web.designer_scan_get": "AD", "web.designer_save": "AD", "web.designer_publish": "AD",
		"web.calibration": "ABC", "web.calibration_post": "ABC", "web.calibration_sheet": "ABC", "web.calibration_preview": "ADBC",
	} {
		expectedPages[name] = roles
	}
}

// TestDesignerOpensExisting: the administrator opens the designer on the food licence's
// built-in template: every box of the template is on the sheet, the page is the template's,
// the check passes and the preview shows.
func TestDesignerOpensExisting(t *testing.T) {
	fixtures.NeedTool(t, "chromium", "chromium")
	w := startWeb(t, "admin")
	ctx := newBrowser(t)
	w.browserLogin(t, ctx, "admin")
	food, _ := templates.BuiltinByID("food-business-licence")
	run(t, ctx, "open the food licence",
		chromedp.Navigate(w.URL+"/designer?type="+demo.TypeFood),
		chromedp.WaitVisible(chromedp.ID("#dz-sheet")),
		browserWait(`document.getElementById('designer').dataset.preview === 'ok'`),
		waitText("#dz-problems", "检查通过"),
	)
	if n := eval(t, ctx, `String(document.querySelectorAll('.dz-box').length)`); n != strconv.Itoa(len(food.Boxes())) {
		t.Fatalf("%s boxes on the sheet, the template has %d", n, len(food.Boxes()))
	}
	if v := eval(t, ctx, `document.getElementById('dz-w').value + 'x' + document.getElementById('dz-h').value`); v != "297x210" {
		t.Errorf("page %s, want 297x210", v)
	}
	shot(t, ctx, "designer-existing")
}

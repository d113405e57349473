package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"certseal/internal/demo"
)

// provinceCSV is a provincial item list: 食品经营许可 renamed with a new sub-item, a new item,
// and an unchanged one.
const provinceCSV = "\ufeff事项编码,事项名称,设定依据,事项类型,事项层级,子项编码,子项名称\n" +
	"000117001000,食品经营许可（含仅销售预包装食品备案）,《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》,行政许可,县级,000117001004,食品经营许可（注销）\n" +
	"000113007000,建筑工程施工许可证核发,《中华人民共和国建筑法》第七条；《建筑工程施工许可管理办法》,行政许可,县级,,\n" +
	"000120001000,药品零售企业许可,《中华人民共和国药品管理法》第五十二条,行政许可,县级,000120001001,药品零售企业许可（新办）\n"

// TestWebBrowserExchange: the administrator uploads the provincial item list, reads the dry run
// item by item, applies it, sees that a second preview finds nothing to do, claims the new
// sub-item for a county bureau with a licence type, and downloads the JSON and XML exports.
func TestWebBrowserExchange(t *testing.T) {
	ctx := newBrowser(t)
	w := startWeb(t, "admin")
	file := filepath.Join(t.TempDir(), "四川省政务服务事项目录.csv")
	if err := os.WriteFile(file, []byte(provinceCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	w.browserLogin(t, ctx, "admin")
	run(t, ctx, "the dry run",
		chromedp.Navigate(w.URL+"/admin/exchange"),
		chromedp.WaitVisible(chromedp.ID("#import-form")),
		chromedp.SetUploadFiles(chromedp.ID("#import-file"), []string{file}),
		chromedp.Click(chromedp.ID("#import-check")),
		waitText("#plan-summary", "新增 1"),
	)
	rows := eval(t, ctx, `Array.from(document.querySelectorAll('#plan tbody tr')).map(r => (r.dataset.code + ' ' + r.dataset.action + ' ' + r.cells[5].textContent.trim()).trim()).join('\n')`)
	want := []string{
		"000117001000 change 事项名称：食品经营许可 → 食品经营许可（含仅销售预包装食品备案）子项 000117001004：（无） → 食品经营许可（注销）",
		"000113007000 keep",
		"000120001000 add",
	}
	if rows != strings.Join(want, "\n") {
		t.Fatalf("the dry run table:\n%s\nwant\n%s", rows, strings.Join(want, "\n"))
	}
	if it, _ := w.App.Catalogue.GetItem(context.Background(), "000117001000"); it.Name != "食品经营许可" {
		t.Fatalf("the dry run changed the item: %+v", it)
	}
	shot(t, ctx, "exchange-import-preview")
	run(t, ctx, "apply", chromedp.Click(chromedp.ID("#import-apply")), waitText(".flash", "已导入"))
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "新增 1 项，变更 1 项，不变 1 项") {
		t.Fatalf("flash after the apply: %q", s)
	}
	if it, _ := w.App.Catalogue.GetItem(context.Background(), "000117001000"); it.Name != "食品经营许可（含仅销售预包装食品备案）" || len(it.SubItems) != 4 {
		t.Fatalf("the item after the apply: %+v", it)
	}
	run(t, ctx, "a second dry run",
		chromedp.SetUploadFiles(chromedp.ID("#import-file"), []string{file}),
		chromedp.Click(chromedp.ID("#import-check")),
		waitText("#plan-summary", "不变 3"),
		chromedp.WaitVisible(chromedp.ID("#plan-nothing")),
	)
	if n := eval(t, ctx, `String(document.querySelectorAll('#import-apply').length)`); n != "0" {
		t.Fatal("the page offers to apply a plan with nothing to do")
	}

	lizhou := w.Orgs["广元市利州区行政审批局"]
	run(t, ctx, "claim",
		chromedp.SendKeys(chromedp.ID("#claim-item"), "000120001001"),
		chromedp.SetValue(chromedp.ID("#claim-org"), lizhou),
		chromedp.SetValue(chromedp.ID("#claim-type"), demo.TypeBusiness),
		chromedp.Click(chromedp.ID("#claim-submit")),
		waitText(".flash", "已认领"),
	)
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "药品零售企业许可") || !strings.Contains(s, demo.TypeBusiness) {
		t.Fatalf("flash after the claim: %q", s)
	}
	types, err := w.App.Catalogue.TypesOfItem(context.Background(), "000120001001")
	if err != nil || len(types) != 1 || types[0].Code != demo.TypeBusiness {
		t.Fatalf("types of the claimed sub-item: %+v %v", types, err)
	}

	// the downloads: issue one certificate so the export has something in it
	seal := sealOf(t, w.Env, "lizhou-clerk")
	issue(t, w.Env, "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001"))
	run(t, ctx, "reload", chromedp.Navigate(w.URL+"/admin/exchange"), waitText("#last-seq", "1"))
	shot(t, ctx, "exchange")
	res := eval(t, ctx, `fetch('/admin/exchange/changes.json?after=0').then(r => r.json().then(j => r.status + '|' + j.format + '|' + j.count + '|' + j.changes[0].operation_code + '|' + j.changes[0].item_code))`)
	if res != "200|certseal-exchange/1|1|01|000117001001" {
		t.Fatalf("the JSON download: %q", res)
	}
	res = eval(t, ctx, `fetch('/admin/exchange/changes.xml?after=0&from=&to=').then(r => r.text().then(x => r.status + '|' + r.headers.get('Content-Type') + '|' + (new DOMParser().parseFromString(x, 'application/xml').querySelectorAll('change').length)))`)
	if res != "200|application/xml; charset=utf-8|1" {
		t.Fatalf("the XML download: %q", res)
	}
	res = eval(t, ctx, `fetch('/admin/exchange/changes.json?after=x').then(r => r.status + '|' + r.headers.get('Content-Type'))`)
	if !strings.HasPrefix(res, "400|text/html") {
		t.Fatalf("a bad range: %q", res)
	}
}

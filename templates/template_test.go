package templates_test

import (
	"encoding/json"
	"strings"
	"testing"

	"certseal"
	"certseal/templates"
)

// minimal returns a small valid template as a map, for tests to break one thing at a time.
func minimal() map[string]any {
	return map[string]any{
		"id": "t", "version": 1, "name": "测试证",
		"page": map[string]any{"size": "A4", "orientation": "portrait"},
		"fields": []any{
			map[string]any{"name": "名称", "label": "名称", "type": "text", "required": true,
				"box":       map[string]any{"x": 50, "y": 50, "w": 100, "h": 10, "font_size": 12},
				"label_box": map[string]any{"x": 20, "y": 50, "w": 28, "h": 10}},
			map[string]any{"name": "日期", "type": "date",
				"box": map[string]any{"x": 50, "y": 70, "w": 100, "h": 10}},
		},
		"seal": map[string]any{"x": 150, "y": 200, "diameter": 40},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func field(m map[string]any, i int) map[string]any { return m["fields"].([]any)[i].(map[string]any) }

func TestParseValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   string // substring of the message; "" = valid
		box    string // Detail["box"] or Detail["field"] expected to contain this
	}{
		{"valid", func(m map[string]any) {}, "", ""},
		{"overlapping boxes", func(m map[string]any) {
			field(m, 1)["box"] = map[string]any{"x": 60, "y": 55, "w": 100, "h": 10}
		}, "与", "字段“名称”"},
		{"label overlaps value", func(m map[string]any) {
			field(m, 0)["label_box"] = map[string]any{"x": 20, "y": 50, "w": 40, "h": 10}
		}, "重叠", "字段“名称”"},
		{"box leaves the page", func(m map[string]any) {
			field(m, 1)["box"] = map[string]any{"x": 150, "y": 70, "w": 100, "h": 10}
		}, "超出页面", "字段“日期”"},
		{"landscape makes the page wider", func(m map[string]any) {
			m["page"] = map[string]any{"size": "A4", "orientation": "landscape"}
			field(m, 1)["box"] = map[string]any{"x": 150, "y": 70, "w": 100, "h": 10}
			m["seal"] = map[string]any{"x": 150, "y": 150, "diameter": 40}
		}, "", ""},
		{"negative position", func(m map[string]any) {
			field(m, 1)["box"] = map[string]any{"x": -1, "y": 70, "w": 10, "h": 10}
		}, "超出页面", "字段“日期”"},
		{"unknown field type", func(m map[string]any) { field(m, 1)["type"] = "color" }, "类型“color”未知", "日期"},
		{"bad regexp", func(m map[string]any) { field(m, 0)["pattern"] = "([a-z" }, "正则表达式", "名称"},
		{"enum without options", func(m map[string]any) { field(m, 1)["type"] = "enum" }, "没有可选值", "日期"},
		{"duplicate field", func(m map[string]any) { field(m, 1)["name"] = "名称" }, "重复", "名称"},
		{"unknown page size", func(m map[string]any) { m["page"] = map[string]any{"size": "Letter"} }, "纸张规格", ""},
		{"custom page size", func(m map[string]any) { m["page"] = map[string]any{"width": 200, "height": 280} }, "", ""},
		{"seal off the page", func(m map[string]any) { m["seal"] = map[string]any{"x": 200, "y": 200, "diameter": 40} }, "印章", "印章"},
		{"no id", func(m map[string]any) { m["id"] = "" }, "缺少编号", ""},
		{"unknown JSON key", func(m map[string]any) { m["colour"] = "red" }, "JSON", ""},
		{"label the font cannot draw", func(m map[string]any) { field(m, 0)["label"] = "名\U00020000" }, "U+20000", ""},
		{"unknown background element", func(m map[string]any) {
			m["background"] = []any{map[string]any{"type": "image"}}
		}, "未知", ""},
		{"title overlaps a field", func(m map[string]any) {
			m["background"] = []any{map[string]any{"type": "text", "text": "标题", "box": map[string]any{"x": 40, "y": 45, "w": 50, "h": 10}}}
		}, "重叠", "文字“标题”"},
		{"overlay QR without a QR position", func(m map[string]any) { m["overlay"] = map[string]any{"qr": true} }, "二维码", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := minimal()
			tt.mutate(m)
			tpl, err := templates.Parse(mustJSON(t, m))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tpl.ID != "t" {
					t.Errorf("ID = %q", tpl.ID)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse: got nil error, want one containing %q", tt.want)
			}
			if got := errCode(err); got != certseal.EInvalid {
				t.Errorf("code = %q, want %q", got, certseal.EInvalid)
			}
			if !strings.Contains(certseal.ErrorMessage(err), tt.want) {
				t.Errorf("message = %q, want it to contain %q", certseal.ErrorMessage(err), tt.want)
			}
			if tt.box != "" {
				got, _ := detail(err, "box").(string)
				if got == "" {
					got, _ = detail(err, "field").(string)
				}
				if !strings.Contains(got, tt.box) && !strings.Contains(certseal.ErrorMessage(err), tt.box) {
					t.Errorf("detail box/field = %q, message %q; want %q named", got, certseal.ErrorMessage(err), tt.box)
				}
			}
		})
	}
}

func TestBuiltins(t *testing.T) {
	want := map[string]string{
		"food-business-licence":  "食品经营许可证",
		"construction-permit":    "建筑工程施工许可证",
		"road-transport-licence": "道路运输经营许可证",
		"generic-licence":        "通用证照",
	}
	if got := len(templates.Builtin()); got != len(want) {
		t.Errorf("len(Builtin()) = %d, want %d", got, len(want))
	}
	for id, name := range want {
		tpl, ok := templates.BuiltinByID(id)
		if !ok {
			t.Errorf("BuiltinByID(%q) not found", id)
			continue
		}
		if tpl.Name != name || tpl.Version < 1 {
			t.Errorf("%s: name %q version %d, want %q", id, tpl.Name, tpl.Version, name)
		}
		src, ok := templates.BuiltinJSON(id)
		if !ok {
			t.Errorf("BuiltinJSON(%q) not found", id)
			continue
		}
		again, err := templates.Parse(src)
		if err != nil || again.ID != id {
			t.Errorf("Parse(BuiltinJSON(%q)) = %v, %v", id, again, err)
		}
		s := tpl.Seal()
		w, h := tpl.PageSize()
		if s.Page != 1 || s.X-s.Diameter/2 < 0 || s.X+s.Diameter/2 > w || s.Y+s.Diameter/2 > h || s.PageHeight != h {
			t.Errorf("%s: seal %+v off the %gx%g page", id, s, w, h)
		}
		if _, ok := tpl.Field("发证机关"); !ok {
			t.Errorf("%s: no 发证机关 field", id)
		}
	}
	if _, ok := templates.BuiltinByID("nope"); ok {
		t.Error("BuiltinByID(nope) found something")
	}
	// The food licence uses the field names of the national data set.
	tpl := food(t)
	for _, name := range []string{"经营者名称", "统一社会信用代码", "法定代表人（负责人）", "住所", "经营场所", "主体业态", "经营项目",
		"日常监督管理机构", "日常监督管理人员", "投诉举报电话", "发证机关", "签发人", "有效期至", "发证日期"} {
		if _, ok := tpl.Field(name); !ok {
			t.Errorf("food licence has no field %q", name)
		}
	}
	if w, h := tpl.PageSize(); w <= h {
		t.Errorf("food licence page %gx%g, want landscape", w, h)
	}
}

func TestSealPlacement(t *testing.T) {
	tpl := food(t)
	s := tpl.Seal()
	x, y, d := s.PDFPoints()
	const pt = 72 / 25.4
	if !near(x, s.X*pt) || !near(y, (210-s.Y)*pt) || !near(d, s.Diameter*pt) {
		t.Errorf("PDFPoints = %g, %g, %g for %+v", x, y, d, s)
	}
	b := tpl.SealBox()
	if !near(b.X+b.W/2, s.X) || !near(b.Y+b.H/2, s.Y) || !near(b.W, s.Diameter) {
		t.Errorf("SealBox = %+v for %+v", b, s)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestCheckValues(t *testing.T) {
	tpl := food(t)
	base := loadFixtures(t)[0].Fields
	tests := []struct {
		name  string
		key   string
		value string // "<delete>" removes the key
		field string // expected Detail["field"]; "" = valid
		want  string // substring of the message
	}{
		{"fixture is valid", "", "", "", ""},
		{"required missing", "经营者名称", "<delete>", "经营者名称", "必填"},
		{"required blank", "经营者名称", "  ", "经营者名称", "必填"},
		{"optional may be absent", "投诉举报电话", "<delete>", "", ""},
		{"too long", "经营者名称", strings.Repeat("食", 51), "经营者名称", "最多50个字符"},
		{"pattern", "统一社会信用代码", "12345", "统一社会信用代码", "格式不正确"},
		{"bad date", "有效期至", "2029年13月1日", "有效期至", "日期"},
		{"ISO date", "有效期至", "2029-04-15", "", ""},
		{"not a date", "发证日期", "明天", "发证日期", "日期"},
		{"outside the BMP", "经营者名称", "广元市\U00020000便利店", "经营者名称", "字段“经营者名称”含有字库不支持的字符“\U00020000”(U+20000)"},
		{"private use", "住所", "四川省\ue000号", "住所", "U+E000"},
		{"control character", "签发人", "任\x07强", "签发人", "控制字符"},
		{"unknown field", "颜色", "红", "颜色", "没有字段“颜色”"},
		{"licence number field allowed", "许可证编号", "JY15108027748801", "", ""},
		{"licence number with a bad char", "许可证编号", "JY\U00020000", "许可证编号", "U+20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := make(map[string]string, len(base))
			for k, x := range base {
				v[k] = x
			}
			if tt.key != "" {
				if tt.value == "<delete>" {
					delete(v, tt.key)
				} else {
					v[tt.key] = tt.value
				}
			}
			err := tpl.CheckValues(v)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("CheckValues: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckValues: nil, want an error naming %s", tt.field)
			}
			if errCode(err) != certseal.EInvalid {
				t.Errorf("code = %q, want %q", errCode(err), certseal.EInvalid)
			}
			if got := detail(err, "field"); got != tt.field {
				t.Errorf("Detail[field] = %v, want %q", got, tt.field)
			}
			if msg := certseal.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

func TestCheckValuesNamesTheCharacter(t *testing.T) {
	tpl := food(t)
	v := map[string]string{}
	for k, x := range loadFixtures(t)[0].Fields {
		v[k] = x
	}
	v["经营者名称"] = "𠀀记小吃"
	err := tpl.CheckValues(v)
	if got, want := certseal.ErrorMessage(err), "字段“经营者名称”含有字库不支持的字符“𠀀”(U+20000)"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if detail(err, "char") != "𠀀" || detail(err, "codepoint") != "U+20000" {
		t.Errorf("detail = %v", err.(*certseal.Error).Detail)
	}
	// Render refuses it too, before drawing anything.
	_, err = templates.NewRenderer().Render(tpl, templates.Document{Values: v, Created: created})
	if errCode(err) != certseal.EInvalid || detail(err, "field") != "经营者名称" {
		t.Errorf("Render: %v, want EInvalid naming 经营者名称", err)
	}
	if templates.CanDraw(0xE000) {
		t.Log("the font draws U+E000; the private-use case above relies on it not doing so")
	}
}

func TestEnumAndNumber(t *testing.T) {
	m := minimal()
	field(m, 1)["type"] = "enum"
	field(m, 1)["options"] = []string{"个体", "私营"}
	m["fields"] = append(m["fields"].([]any), map[string]any{"name": "金额", "type": "number",
		"box": map[string]any{"x": 50, "y": 90, "w": 100, "h": 10}})
	tpl, err := templates.Parse(mustJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		values map[string]string
		field  string
	}{
		{map[string]string{"名称": "甲", "日期": "私营", "金额": "-12.50"}, ""},
		{map[string]string{"名称": "甲", "日期": "国有"}, "日期"},
		{map[string]string{"名称": "甲", "金额": "12元"}, "金额"},
		{map[string]string{"名称": "甲", "金额": "1e5"}, "金额"},
	} {
		err := tpl.CheckValues(tt.values)
		if got, _ := detail(err, "field").(string); got != tt.field || (tt.field == "") != (err == nil) {
			t.Errorf("CheckValues(%v) = %v, want field %q", tt.values, err, tt.field)
		}
	}
}

package templates

import (
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
)

var (
	numberRe = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)
	cnDateRe = regexp.MustCompile(`^[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日$`)
)

// parseDate accepts 2006年1月2日 (also with zero padding) and 2006-01-02.
func parseDate(s string) (time.Time, bool) {
	if cnDateRe.MatchString(s) {
		t, err := time.Parse("2006年1月2日", s)
		return t, err == nil
	}
	t, err := time.Parse("2006-01-02", s)
	return t, err == nil
}

// displayValue is the text drawn for a value: dates written as 2006-01-02 are printed the way
// licences print them, 2006年1月2日.
func displayValue(f *Field, v string) string {
	if f.Type == TypeDate && !strings.Contains(v, "年") {
		if d, ok := parseDate(v); ok {
			return d.Format("2006年1月2日")
		}
	}
	return v
}

// CheckValues checks values against the template's fields before anything is rendered. It
// returns nil when every value is acceptable, and otherwise a *certseal.Error with code
// EInvalid whose Chinese message and Detail["field"] name the first offending field (in
// template order): a key the template does not have, a missing required value, a value longer
// than max_length, one that does not match the pattern, a malformed date or number, an enum
// value not among the options, or a character the font cannot draw (Detail["char"] and
// Detail["codepoint"] name it; anything outside the BMP is refused).
func (t *Template) CheckValues(values map[string]string) error {
	if t.fieldByName == nil {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	font, err := loadFont()
	if err != nil {
		return certseal.Errorf(certseal.EInternal, "字库加载失败").WithDetail("reason", err.Error())
	}
	// Unknown keys, in sorted order so the error does not depend on map order.
	var unknown []string
	for k := range values {
		if _, ok := t.fieldByName[k]; !ok && (t.Number == nil || k != t.Number.Field || k == "") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return invalid("模板“%s”没有字段“%s”", t.Name, unknown[0]).WithDetail("field", unknown[0])
	}
	for i := range t.Fields {
		f := &t.Fields[i]
		v, ok := values[f.Name]
		if err := t.checkValue(font, f, i, v, ok); err != nil {
			return err
		}
	}
	if t.Number != nil && t.Number.Field != "" {
		if v, ok := values[t.Number.Field]; ok {
			if err := checkChars(font, t.Number.Field, v, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Template) checkValue(font *fontIndex, f *Field, i int, v string, present bool) error {
	fail := func(format string, args ...any) error {
		return invalid(format, args...).WithDetail("field", f.Name)
	}
	if !utf8.ValidString(v) {
		return fail("字段“%s”不是有效的UTF-8文字", f.Name)
	}
	if strings.TrimSpace(v) == "" {
		if f.Required {
			return fail("字段“%s”为必填项", f.Name)
		}
		if present && v != "" {
			return fail("字段“%s”只含空白字符", f.Name)
		}
		return nil
	}
	if err := checkChars(font, f.Name, v, f.Box.Wrap); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(v); f.MaxLength > 0 && n > f.MaxLength {
		return fail("字段“%s”最多%d个字符，实际%d个", f.Name, f.MaxLength, n)
	}
	switch f.Type {
	case TypeDate:
		if _, ok := parseDate(v); !ok {
			return fail("字段“%s”的日期“%s”无效（应为“2006年1月2日”或“2006-01-02”）", f.Name, v)
		}
	case TypeNumber:
		if !numberRe.MatchString(v) {
			return fail("字段“%s”应为数字，实际为“%s”", f.Name, v)
		}
	case TypeEnum:
		found := false
		for _, o := range f.Options {
			found = found || o == v
		}
		if !found {
			return fail("字段“%s”的值“%s”不在可选范围内（%s）", f.Name, v, strings.Join(f.Options, "、"))
		}
	}
	if re := t.patterns[i]; re != nil && !re.MatchString(v) {
		return fail("字段“%s”的值“%s”格式不正确", f.Name, v)
	}
	return nil
}

// checkChars refuses control characters (a line feed is allowed where the box wraps) and any
// character the font cannot draw.
func checkChars(font *fontIndex, field, v string, newlineOK bool) error {
	for _, r := range v {
		if r == '\n' && newlineOK {
			continue
		}
		if r < 0x20 || (r >= 0x7F && r < 0xA0) {
			return invalid("字段“%s”含有控制字符(U+%04X)", field, r).WithDetail("field", field).WithDetail("codepoint", formatCodepoint(r))
		}
		if !font.covers(r) {
			return charError(field, r)
		}
	}
	return nil
}

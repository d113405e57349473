package catalogue

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"certseal"
)

// MaxNumberPattern is the longest licence number pattern, in characters.
const MaxNumberPattern = 200

// Check digit algorithms a number pattern may name in {check:ALG}.
const (
	// CheckMod1110 is ISO 7064 MOD 11,10 (GB/T 17710): one digit over the digits before it.
	CheckMod1110 = "iso7064-mod11-10"
	// CheckMod3736 is ISO 7064 MOD 37,36: one digit or capital letter over the digits and capital
	// letters before it (the algorithm of the e-licence identifier's check character).
	CheckMod3736 = "iso7064-mod37-36"
)

// CheckAlgorithms lists the check digit algorithms.
var CheckAlgorithms = []string{CheckMod1110, CheckMod3736}

// PartKind is the kind of one piece of a licence number pattern.
type PartKind int

// The pieces of a licence number pattern.
const (
	PartText  PartKind = iota // literal text
	PartArea                  // {area}: the issuer's 6-digit area code
	PartYear                  // {year}: the year of issue, 4 digits
	PartSeq                   // {seq:N}: the sequence, N digits
	PartField                 // {field:NAME:PREFIX=CODE,...}: a code derived from a template field
	PartCheck                 // {check:ALG}: a check character over what comes before it
)

// FieldCode maps the start of a field's value to the code written in the number.
type FieldCode struct {
	Prefix string
	Code   string
}

// PatternPart is one piece of a parsed licence number pattern.
type PatternPart struct {
	Kind PartKind
	// Text is the literal of a PartText.
	Text string
	// Width is the number of digits of a PartSeq.
	Width int
	// Field and Codes describe a PartField: the template field whose value starts with one of the
	// prefixes (the longest that matches) gives the code.
	Field string
	Codes []FieldCode
	// Algorithm names the check digit algorithm of a PartCheck (one of CheckAlgorithms).
	Algorithm string
}

// NumberFormat is a parsed licence number pattern.
type NumberFormat struct {
	Parts []PatternPart
}

// HasYear reports whether the pattern has {year} (its sequence then starts again every year).
func (f *NumberFormat) HasYear() bool {
	for _, p := range f.Parts {
		if p.Kind == PartYear {
			return true
		}
	}
	return false
}

// DeriveCode returns the code a field placeholder derives from the field values: the code of the
// longest prefix the value starts with. It returns an *Error with code EInvalid, naming the field,
// when the value is missing or starts with none of the prefixes.
func (p *PatternPart) DeriveCode(values map[string]string) (string, error) {
	v := strings.TrimSpace(values[p.Field])
	best := -1
	for i, c := range p.Codes {
		if strings.HasPrefix(v, c.Prefix) && (best < 0 || len(c.Prefix) > len(p.Codes[best].Prefix)) {
			best = i
		}
	}
	if best >= 0 {
		return p.Codes[best].Code, nil
	}
	var names []string
	for _, c := range p.Codes {
		names = append(names, c.Prefix)
	}
	if v == "" {
		return "", certseal.Errorf(certseal.EInvalid, "请填写字段“%s”：证照编号中的代码由它确定（应以 %s 开头）", p.Field, strings.Join(names, "、")).WithDetail("field", p.Field)
	}
	return "", certseal.Errorf(certseal.EInvalid, "字段“%s”的值“%s”无法确定证照编号中的代码：应以 %s 之一开头", p.Field, v, strings.Join(names, "、")).WithDetail("field", p.Field)
}

// ParseNumberPattern parses a licence number pattern: literal text with the placeholders {area}
// (the issuer's 6-digit area code), {year} (4 digits), exactly one {seq:N} (the issuer's sequence
// for the type, N digits, 1-12), any number of {field:NAME:PREFIX=CODE,...} (a code derived from
// the template field NAME: the code of the longest PREFIX its value starts with; codes are digits
// or capital letters, all of one width) and at most one {check:ALG} after the sequence (a check
// character by one of CheckAlgorithms over the characters before it). The national 食品经营许可证
// number is
//
//	JY{field:主体业态:食品销售经营者=1,餐饮服务经营者=2,单位食堂=3}{area}{seq:6}{check:iso7064-mod11-10}
//
// It returns an *Error with code EInvalid and a Chinese message naming what is wrong.
func ParseNumberPattern(s string) (*NumberFormat, error) {
	if n := utf8.RuneCountInString(s); n > MaxNumberPattern {
		return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则不能超过%d个字符（现为%d个）", MaxNumberPattern, n)
	}
	f := &NumberFormat{}
	seqs, checks := 0, 0
	rest := s
	for len(rest) > 0 {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			f.Parts = append(f.Parts, PatternPart{Kind: PartText, Text: rest})
			break
		}
		if rest[i] == '}' {
			return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则中的 } 没有对应的 {")
		}
		if i > 0 {
			f.Parts = append(f.Parts, PatternPart{Kind: PartText, Text: rest[:i]})
		}
		j := strings.IndexAny(rest[i+1:], "{}")
		if j < 0 || rest[i+1+j] != '}' {
			return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则中的 { 没有对应的 }")
		}
		ph := rest[i+1 : i+1+j]
		rest = rest[i+1+j+1:]
		name, arg, hasArg := strings.Cut(ph, ":")
		switch {
		case ph == "area":
			f.Parts = append(f.Parts, PatternPart{Kind: PartArea})
		case ph == "year":
			f.Parts = append(f.Parts, PatternPart{Kind: PartYear})
		case name == "seq" && hasArg:
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 || n > 12 {
				return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则 {seq:N} 的位数应为1至12")
			}
			f.Parts = append(f.Parts, PatternPart{Kind: PartSeq, Width: n})
			seqs++
		case name == "field" && hasArg:
			p, err := parseFieldPart(arg)
			if err != nil {
				return nil, err
			}
			f.Parts = append(f.Parts, p)
		case name == "check" && hasArg:
			if !knownCheck(arg) {
				return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则中的校验位算法 %q 未知（可用 %s）", arg, strings.Join(CheckAlgorithms, "、"))
			}
			if seqs == 0 {
				return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则中的校验位 {check:…} 应在顺序号 {seq:N} 之后")
			}
			checks++
			if checks > 1 {
				return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则最多只能有一个校验位 {check:…}")
			}
			f.Parts = append(f.Parts, PatternPart{Kind: PartCheck, Algorithm: arg})
		default:
			return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则中的占位符 {%s} 未知（可用 {area}、{year}、{seq:N}、{field:字段名:前缀=代码,…}、{check:算法}）", ph)
		}
	}
	if seqs != 1 {
		return nil, certseal.Errorf(certseal.EInvalid, "证照编号规则必须恰好包含一个顺序号 {seq:N}")
	}
	return f, nil
}

func knownCheck(alg string) bool {
	for _, a := range CheckAlgorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// parseFieldPart parses the argument of {field:NAME:PREFIX=CODE,...}.
func parseFieldPart(arg string) (PatternPart, error) {
	name, list, ok := strings.Cut(arg, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return PatternPart{}, certseal.Errorf(certseal.EInvalid, "证照编号规则 {field:…} 缺少字段名")
	}
	if !ok || strings.TrimSpace(list) == "" {
		return PatternPart{}, certseal.Errorf(certseal.EInvalid, "证照编号规则 {field:%s:…} 缺少“前缀=代码”的对应关系", name)
	}
	p := PatternPart{Kind: PartField, Field: name}
	seen := map[string]bool{}
	for _, pair := range strings.Split(list, ",") {
		prefix, code, ok := strings.Cut(pair, "=")
		prefix, code = strings.TrimSpace(prefix), strings.TrimSpace(code)
		if !ok || prefix == "" {
			return PatternPart{}, certseal.Errorf(certseal.EInvalid, "证照编号规则 {field:%s:…} 中的“%s”应写作“前缀=代码”", name, pair)
		}
		if code == "" || len(code) > 4 || strings.IndexFunc(code, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') }) >= 0 {
			return PatternPart{}, certseal.Errorf(certseal.EInvalid, "证照编号规则 {field:%s:…} 中“%s”的代码应为1至4位数字或大写字母", name, prefix)
		}
		if seen[prefix] {
			return PatternPart{}, certseal.Errorf(certseal.EInvalid, "证照编号规则 {field:%s:…} 中的前缀“%s”重复", name, prefix)
		}
		seen[prefix] = true
		if len(p.Codes) > 0 && len(code) != len(p.Codes[0].Code) {
			return PatternPart{}, certseal.Errorf(certseal.EInvalid, "证照编号规则 {field:%s:…} 中各代码的位数应相同", name)
		}
		p.Codes = append(p.Codes, FieldCode{Prefix: prefix, Code: code})
	}
	return p, nil
}

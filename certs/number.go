package certs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/store"
)

const bucketCounters store.Bucket = "cert_counters"

// DefaultNumberPattern is used for licence types without a pattern of their own.
const DefaultNumberPattern = "{area}{year}{seq:6}"

// CheckNumberPattern validates a licence number pattern (the syntax of
// catalogue.ParseNumberPattern). It returns an *certseal.Error (EInvalid).
func CheckNumberPattern(p string) error {
	_, err := catalogue.ParseNumberPattern(p)
	return err
}

// NumberInput is what a licence number is made from.
type NumberInput struct {
	Area   string            // the issuer's 6-digit area code
	Year   int               // the year of issue
	Seq    uint64            // the sequence number
	Values map[string]string // the template field values, for {field:…}
}

// FormatNumber fills in a licence number pattern. It returns an *certseal.Error: EInvalid for a
// bad pattern or a field value the pattern cannot derive a code from (naming the field),
// EConflict when the sequence no longer fits its width.
func FormatNumber(pattern string, in NumberInput) (string, error) {
	f, err := catalogue.ParseNumberPattern(pattern)
	if err != nil {
		return "", err
	}
	return formatNumber(f, in)
}

func formatNumber(f *catalogue.NumberFormat, in NumberInput) (string, error) {
	var b strings.Builder
	for _, p := range f.Parts {
		switch p.Kind {
		case catalogue.PartText:
			b.WriteString(p.Text)
		case catalogue.PartArea:
			b.WriteString(in.Area)
		case catalogue.PartYear:
			fmt.Fprintf(&b, "%04d", in.Year)
		case catalogue.PartSeq:
			s := fmt.Sprintf("%0*d", p.Width, in.Seq)
			if len(s) > p.Width {
				return "", certseal.Errorf(certseal.EConflict, "证照编号的顺序号已超过%d位，请调整该证照类型的编号规则", p.Width)
			}
			b.WriteString(s)
		case catalogue.PartField:
			code, err := p.DeriveCode(in.Values)
			if err != nil {
				return "", err
			}
			b.WriteString(code)
		case catalogue.PartCheck:
			c, err := CheckDigit(p.Algorithm, checkInput(p.Algorithm, b.String()))
			if err != nil {
				return "", err
			}
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// checkInput keeps the characters of s a check algorithm runs over: the digits for MOD 11,10,
// the digits and capital letters for MOD 37,36 (the literal JY of a food licence, Chinese text
// and punctuation are skipped).
func checkInput(alg, s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || alg == catalogue.CheckMod3736 && r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}

// CheckDigit returns the check character of s by the named algorithm (catalogue.CheckAlgorithms):
// ISO 7064 MOD 11,10 over digits, or ISO 7064 MOD 37,36 over digits and capital letters. It
// returns an *certseal.Error (EInvalid) for an unknown algorithm or a character outside its
// alphabet.
func CheckDigit(alg, s string) (byte, error) {
	switch alg {
	case catalogue.CheckMod1110:
		return mod1110(s)
	case catalogue.CheckMod3736:
		if c := CheckChar(s); c != 0 {
			return c, nil
		}
		return 0, certseal.Errorf(certseal.EInvalid, "校验位算法 %s 只能用于数字和大写字母", alg)
	}
	return 0, certseal.Errorf(certseal.EInvalid, "校验位算法 %q 未知（可用 %s）", alg, strings.Join(catalogue.CheckAlgorithms, "、"))
}

// HasValidCheckDigit reports whether the last character of s is the check character of the
// rest by the named algorithm.
func HasValidCheckDigit(alg, s string) bool {
	if len(s) < 2 {
		return false
	}
	c, err := CheckDigit(alg, s[:len(s)-1])
	return err == nil && c == s[len(s)-1]
}

// mod1110 is ISO 7064 MOD 11,10 (GB/T 17710-2008), the hybrid system over the digits 0-9: start
// with p = 10; for each digit d, s = (p + d) mod 10, taken as 10 when it is 0, and p = 2s mod 11;
// the check digit c makes (p + c) mod 10 = 1, that is c = (11 - p) mod 10.
func mod1110(s string) (byte, error) {
	p := 10
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, certseal.Errorf(certseal.EInvalid, "校验位算法 %s 只能用于数字", catalogue.CheckMod1110)
		}
		t := (p + int(s[i]-'0')) % 10
		if t == 0 {
			t = 10
		}
		p = (2 * t) % 11
	}
	return byte('0' + (11-p)%10), nil
}

// nextCounter increments and returns the counter under key.
func nextCounter(tx *store.Tx, key []byte) (uint64, error) {
	n := store.ParseU64(tx.Get(bucketCounters, key)) + 1
	return n, tx.Put(bucketCounters, key, store.U64(n))
}

// numberKey returns the counter key of a licence number: the issuer's sequence for the type, per
// year when the pattern has {year}, and per derived code when it has {field:…} (so 餐饮服务经营者
// and 食品销售经营者 in one area count separately). It returns the field's EInvalid error when a
// code cannot be derived.
func numberKey(f *catalogue.NumberFormat, orgID, typeCode string, year int, values map[string]string) ([]byte, error) {
	parts := []string{"num", orgID, typeCode}
	if f.HasYear() {
		parts = append(parts, strconv.Itoa(year))
	}
	for _, p := range f.Parts {
		if p.Kind == catalogue.PartField {
			code, err := p.DeriveCode(values)
			if err != nil {
				return nil, err
			}
			parts = append(parts, "code="+p.Field+"="+code)
		}
	}
	return store.Key(parts...), nil
}

// reserveNumbers allocates, inside tx, the certificate's licence number (see numberKey) and the
// identifier's serial segment (the issuer's own counter per year: YYYY and 7 digits). values are
// the template field values the number may derive a code from.
func reserveNumbers(tx *store.Tx, now time.Time, orgID, area, typeCode, pattern string, values map[string]string) (number, serial string, err error) {
	if pattern == "" {
		pattern = DefaultNumberPattern
	}
	f, err := catalogue.ParseNumberPattern(pattern)
	if err != nil {
		return "", "", err
	}
	year := now.In(certseal.China).Year()
	numKey, err := numberKey(f, orgID, typeCode, year, values)
	if err != nil {
		return "", "", err
	}
	seq, err := nextCounter(tx, numKey)
	if err != nil {
		return "", "", err
	}
	if number, err = formatNumber(f, NumberInput{Area: area, Year: year, Seq: seq, Values: values}); err != nil {
		return "", "", err
	}
	serial, err = reserveSerial(tx, now, orgID)
	return number, serial, err
}

// reserveSerial allocates the identifier's serial segment of the organisation: YYYY and its own
// counter for the year, 7 digits.
func reserveSerial(tx *store.Tx, now time.Time, orgID string) (string, error) {
	year := now.In(certseal.China).Year()
	idSeq, err := nextCounter(tx, store.Key("id", orgID, strconv.Itoa(year)))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%04d%07d", year, idSeq), nil
}

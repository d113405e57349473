package certs

import (
	"fmt"
	"strconv"
	"strings"

	"certseal"
)

// IdentifierPrefix starts every e-licence identifier (证照标识, GB/T 36904-2018).
const IdentifierPrefix = "1.2.156.3005.2."

// Identifier is a parsed e-licence identifier:
// 1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>.
type Identifier struct {
	TypeCode   string // 21 characters: the definer's USCC and a 3-digit sequence
	IssuerCode string // the issuer's 18-character USCC
	Serial     string // chosen by the issuer: digits or capital letters
	Version    int    // 1 for the first issue, raised on renewal or change
}

// checkValue returns the value 0-35 of a character of the identifier alphabet, or -1.
func checkValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// CheckChar returns the ISO 7064 MOD 37,36 (hybrid) check character of s, which must consist of
// digits and capital letters; it returns 0 when s has another character.
func CheckChar(s string) byte {
	p := 36
	for i := 0; i < len(s); i++ {
		v := checkValue(s[i])
		if v < 0 {
			return 0
		}
		t := (p + v) % 36
		if t == 0 {
			t = 36
		}
		p = (2 * t) % 37
	}
	c := (37 - p) % 36
	if c < 10 {
		return byte('0' + c)
	}
	return byte('A' + c - 10)
}

// body returns the four variable segments joined without dots, over which the check runs.
func (id Identifier) body() string {
	return id.TypeCode + id.IssuerCode + id.Serial + fmt.Sprintf("%03d", id.Version)
}

// String returns the identifier with its check character.
func (id Identifier) String() string {
	return fmt.Sprintf("%s%s.%s.%s.%03d.%c", IdentifierPrefix, id.TypeCode, id.IssuerCode, id.Serial, id.Version, CheckChar(id.body()))
}

func validSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if checkValue(s[i]) < 0 {
			return false
		}
	}
	return true
}

// ParseIdentifier parses and checks an identifier. It returns an *certseal.Error with code
// EInvalid saying which part is wrong, including a wrong check character.
func ParseIdentifier(s string) (Identifier, error) {
	var id Identifier
	if !strings.HasPrefix(s, IdentifierPrefix) {
		return id, certseal.Errorf(certseal.EInvalid, "证照标识应以 %s 开头", IdentifierPrefix)
	}
	parts := strings.Split(s[len(IdentifierPrefix):], ".")
	if len(parts) != 5 {
		return id, certseal.Errorf(certseal.EInvalid, "证照标识应有类型代码、颁发机构代码、序号、版本号和校验位五段")
	}
	id.TypeCode, id.IssuerCode, id.Serial = parts[0], parts[1], parts[2]
	if len(id.TypeCode) != 21 || !validSegment(id.TypeCode) {
		return id, certseal.Errorf(certseal.EInvalid, "证照类型代码应为21位数字或大写字母")
	}
	if len(id.IssuerCode) != 18 || !validSegment(id.IssuerCode) {
		return id, certseal.Errorf(certseal.EInvalid, "颁发机构代码应为18位统一社会信用代码")
	}
	if !validSegment(id.Serial) || len(id.Serial) > 40 {
		return id, certseal.Errorf(certseal.EInvalid, "证照序号应为1至40位数字或大写字母")
	}
	// Three digits exactly: Atoi alone also takes "+01", a second spelling of version 001.
	v, err := strconv.Atoi(parts[3])
	if len(parts[3]) != 3 || !isDigits(parts[3]) || err != nil || v < 1 {
		return id, certseal.Errorf(certseal.EInvalid, "版本号应为3位数字，从001开始")
	}
	id.Version = v
	if len(parts[4]) != 1 || CheckChar(id.body()) != parts[4][0] {
		return id, certseal.Errorf(certseal.EInvalid, "证照标识校验位错误")
	}
	return id, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

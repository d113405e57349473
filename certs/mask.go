package certs

import (
	"strings"
	"unicode/utf8"
)

// What the public verification shows of a holder. Licence numbers are sequential, so anyone can
// walk through every certificate: a verifier, who holds the paper or the PDF, needs only enough
// to match it. A holder identified by a unified social credit code (001: an organisation or a
// registered business, whose name and code are public in the credit registers) is shown in
// full. Every other holder (111 citizen ID, 999 another identity document) is a natural person:
// the name keeps its first character only (MaskPersonName), a citizen ID number its first six
// and last four characters, another document number its first two and last two.

// MaskPersonName masks a natural person's name for the public: the first character stays and
// every other character becomes "*" (张三 → 张*, 欧阳娜娜 → 欧***); a one-character name is "*".
func MaskPersonName(name string) string {
	n := utf8.RuneCountInString(name)
	if n <= 1 {
		return strings.Repeat("*", n)
	}
	first, _ := utf8.DecodeRuneInString(name)
	return string(first) + strings.Repeat("*", n-1)
}

// isNaturalPerson reports whether the holder is shown masked: anyone not identified by a unified
// social credit code.
func isNaturalPerson(h Holder) bool { return h.CodeType != CodeUSCC }

// publicHolder returns the holder's name and code as the public verification shows them.
func publicHolder(h Holder) (name, code string) {
	if !isNaturalPerson(h) {
		return h.Name, h.Code
	}
	return MaskPersonName(h.Name), maskCode(h.Code, h.CodeType)
}

// maskCode masks a natural person's document number: a citizen ID number keeps its first six
// and last four characters (the area and the check digits), another number its first two and
// last two; a number of four characters or fewer is masked whole.
func maskCode(code, codeType string) string {
	keepHead, keepTail := 2, 2
	if codeType == CodeIDCard {
		keepHead, keepTail = 6, 4
	}
	n := utf8.RuneCountInString(code)
	if n <= keepHead+keepTail {
		if n <= 4 {
			return strings.Repeat("*", n)
		}
		keepHead, keepTail = 1, 1
	}
	r := []rune(code)
	return string(r[:keepHead]) + strings.Repeat("*", n-keepHead-keepTail) + string(r[n-keepTail:])
}

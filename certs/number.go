package certs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/internal/store"
)

const bucketCounters store.Bucket = "cert_counters"

// DefaultNumberPattern is used for licence types without a pattern of their own.
const DefaultNumberPattern = "{area}{year}{seq:6}"

// CheckNumberPattern validates a licence number pattern: literal text with the placeholders
// {area} (the issuer's 6-digit area code), {year} (4 digits) and exactly one {seq:N} (the
// issuer's sequence for the type, N digits, 1-12). It returns an *certseal.Error (EInvalid).
func CheckNumberPattern(p string) error {
	_, err := expandNumber(p, "510800", 2026, 1)
	return err
}

// expandNumber fills in a licence number pattern.
func expandNumber(p, area string, year int, seq uint64) (string, error) {
	var b strings.Builder
	seqs := 0
	for len(p) > 0 {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			break
		}
		b.WriteString(p[:i])
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			return "", certseal.Errorf(certseal.EInvalid, "证照编号规则中的 { 没有对应的 }")
		}
		ph := p[i+1 : i+j]
		p = p[i+j+1:]
		switch {
		case ph == "area":
			b.WriteString(area)
		case ph == "year":
			fmt.Fprintf(&b, "%04d", year)
		case strings.HasPrefix(ph, "seq:"):
			n, err := strconv.Atoi(ph[4:])
			if err != nil || n < 1 || n > 12 {
				return "", certseal.Errorf(certseal.EInvalid, "证照编号规则 {seq:N} 的位数应为1至12")
			}
			s := fmt.Sprintf("%0*d", n, seq)
			if len(s) > n {
				return "", certseal.Errorf(certseal.EConflict, "证照编号的顺序号已超过%d位，请调整该证照类型的编号规则", n)
			}
			b.WriteString(s)
			seqs++
		default:
			return "", certseal.Errorf(certseal.EInvalid, "证照编号规则中的占位符 {%s} 未知（可用 {area}、{year}、{seq:N}）", ph)
		}
	}
	if seqs != 1 {
		return "", certseal.Errorf(certseal.EInvalid, "证照编号规则必须恰好包含一个 {seq:N}")
	}
	return b.String(), nil
}

// nextCounter increments and returns the counter under key.
func nextCounter(tx *store.Tx, key []byte) (uint64, error) {
	n := store.ParseU64(tx.Get(bucketCounters, key)) + 1
	return n, tx.Put(bucketCounters, key, store.U64(n))
}

// reserveNumbers allocates, inside tx, the certificate's licence number (the issuer's sequence
// for the type, per year when the pattern has {year}) and the identifier's serial segment (the
// issuer's own counter per year: YYYY and 7 digits).
func reserveNumbers(tx *store.Tx, now time.Time, orgID, area, typeCode, pattern string) (number, serial string, err error) {
	if pattern == "" {
		pattern = DefaultNumberPattern
	}
	year := now.In(certseal.China).Year()
	ys := strconv.Itoa(year)
	numKey := store.Key("num", orgID, typeCode)
	if strings.Contains(pattern, "{year}") {
		numKey = store.Key("num", orgID, typeCode, ys)
	}
	seq, err := nextCounter(tx, numKey)
	if err != nil {
		return "", "", err
	}
	if number, err = expandNumber(pattern, area, year, seq); err != nil {
		return "", "", err
	}
	idSeq, err := nextCounter(tx, store.Key("id", orgID, ys))
	if err != nil {
		return "", "", err
	}
	return number, fmt.Sprintf("%04d%07d", year, idSeq), nil
}

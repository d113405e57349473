package certs

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// numbers hands out licence-number sequences, identifier serials and record ids from memory, so
// that issuing makes one commit instead of a reservation commit before the render. A counter
// starts from its value in the database the first time it is used; the commit that stores the
// certificate raises the stored counter to the value used (commitReserved), so a later start
// goes on after it. A value handed out whose certificate is never committed is a gap: audited
// (certificate.number_unused) when the issue fails; after a crash the values after the last
// committed one are handed out again (nothing durable used them). Only this process writes the
// database on bbolt (its file lock); on a shared engine each node takes blocks (numberBlock).
// Every reservation of these counters goes through here.
type numbers struct {
	mu   sync.Mutex
	next map[string]uint64 // counter key (or recordsKey) -> the next value to hand out
	end  map[string]uint64 // on a shared engine: the end (exclusive) of this node's block
}

// recordsKey names the record id sequence (the bucket sequence of bucketRecords) in numbers.
const recordsKey = "\x00records"

// numberBlock is how many values of each counter a node of a cluster reserves at once. On a
// shared engine (etcd) several nodes issue from the same counters, so memory alone cannot
// hand them out: each node takes a block of values in one transaction (raising the stored
// counter past it, so no other node gets them) and hands the block out from memory. Values left
// in a node's block when it stops are gaps in the numbering, as after a failed issue.
const numberBlock = 32

// reserved is what one issue took from numbers, for commitReserved.
type reserved struct {
	keys   [][]byte // counter keys
	values []uint64
	id     uint64 // record id
}

// take hands out the next value of each counter key and a record id. stored reads the values
// in the database of the keys not yet in memory; on a shared engine it reserves a block of
// values for every key whose block is used up.
func (n *numbers) take(db *store.DB, keys ...[]byte) (reserved, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.next == nil {
		n.next, n.end = map[string]uint64{}, map[string]uint64{}
	}
	shared := db.Engine() != "bbolt"
	var missing []string
	for _, k := range append(keys, []byte(recordsKey)) {
		next, ok := n.next[string(k)]
		if !ok || shared && next >= n.end[string(k)] {
			missing = append(missing, string(k))
		}
	}
	if len(missing) > 0 {
		var err error
		if shared {
			err = n.reserveBlocks(db, missing)
		} else {
			err = db.View(func(tx *store.Tx) error {
				for _, k := range missing {
					n.next[k] = storedCounter(tx, k) + 1
				}
				return nil
			})
		}
		if err != nil {
			for _, k := range missing {
				delete(n.next, k)
			}
			return reserved{}, err
		}
	}
	r := reserved{keys: keys}
	for _, k := range keys {
		r.values = append(r.values, n.next[string(k)])
		n.next[string(k)]++
	}
	r.id = n.next[recordsKey]
	n.next[recordsKey]++
	return r, nil
}

// storedCounter returns the stored value of the counter key k (or of the record sequence).
func storedCounter(tx *store.Tx, k string) uint64 {
	if k == recordsKey {
		return tx.Sequence(bucketRecords)
	}
	return store.ParseU64(tx.Get(bucketCounters, []byte(k)))
}

// reserveBlocks takes, in one transaction, a block of numberBlock values of each counter key
// in keys for this node, raising the stored counters past the blocks.
func (n *numbers) reserveBlocks(db *store.DB, keys []string) error {
	starts := map[string]uint64{}
	err := db.Update(func(tx *store.Tx) error {
		for _, k := range keys {
			cur := storedCounter(tx, k)
			starts[k] = cur + 1
			if k == recordsKey {
				if err := tx.RaiseSequence(bucketRecords, cur+numberBlock); err != nil {
					return err
				}
			} else if err := tx.Put(bucketCounters, []byte(k), store.U64(cur+numberBlock)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, start := range starts {
		n.next[k], n.end[k] = start, start+numberBlock
	}
	return nil
}

// commitReserved raises, inside the commit that stores the certificate, the stored counters and
// the record sequence to the values r used.
func commitReserved(tx *store.Tx, r reserved) error {
	for i, k := range r.keys {
		if store.ParseU64(tx.Get(bucketCounters, k)) < r.values[i] {
			if err := tx.Put(bucketCounters, k, store.U64(r.values[i])); err != nil {
				return err
			}
		}
	}
	if tx.Has(bucketRecords, store.U64(r.id)) {
		return certseal.Errorf(certseal.EConflict, "证照记录 %d 已存在，请重试", r.id)
	}
	return tx.RaiseSequence(bucketRecords, r.id)
}

// serialKey is the counter key of the identifier serials of an organisation in a year.
func serialKey(now time.Time, orgID string) []byte {
	return store.Key("id", orgID, strconv.Itoa(now.In(certseal.China).Year()))
}

// formatSerial is the identifier's serial segment: YYYY and the counter, 7 digits.
func formatSerial(now time.Time, seq uint64) string {
	return fmt.Sprintf("%04d%07d", now.In(certseal.China).Year(), seq)
}

// takeNumbers reserves, from memory, a new certificate's licence number (see numberKey), its
// identifier serial and its record id.
func (s *Service) takeNumbers(now time.Time, orgID, area, typeCode, pattern string, values map[string]string) (number, serial string, r reserved, err error) {
	if pattern == "" {
		pattern = DefaultNumberPattern
	}
	f, err := catalogue.ParseNumberPattern(pattern)
	if err != nil {
		return "", "", r, err
	}
	year := now.In(certseal.China).Year()
	numKey, err := numberKey(f, orgID, typeCode, year, values)
	if err != nil {
		return "", "", r, err
	}
	if r, err = s.numbers.take(s.DB, numKey, serialKey(now, orgID)); err != nil {
		return "", "", r, err
	}
	if number, err = formatNumber(f, NumberInput{Area: area, Year: year, Seq: r.values[0], Values: values}); err != nil {
		return "", "", r, err
	}
	return number, formatSerial(now, r.values[1]), r, nil
}

// takeVersion reserves, from memory, the record id of a new version and, for a transfer in, an
// identifier serial of the receiving organisation (r.values[0]).
func (s *Service) takeVersion(now time.Time, orgID string, withSerial bool) (reserved, error) {
	if withSerial {
		return s.numbers.take(s.DB, serialKey(now, orgID))
	}
	return s.numbers.take(s.DB)
}

package inventory

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/store"
)

// SerialRange is an inclusive range of printed serials, as the caller sees it.
type SerialRange struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Count uint64 `json:"count,omitempty"`
}

// String returns "first-last", or just first for a range of one serial.
func (r SerialRange) String() string {
	if r.First == r.Last {
		return r.First
	}
	return r.First + "-" + r.Last
}

// span is an inclusive range of serial numbers.
type span struct{ first, last uint64 }

func (s span) n() uint64 { return s.last - s.first + 1 }

func (s span) printed(t *catalogue.LicenceType) SerialRange {
	return SerialRange{First: t.FormatSerial(s.first), Last: t.FormatSerial(s.last), Count: s.n()}
}

// attrs are what a range's serials share: the holder, the state and, for stock in hand, the
// source: the city department that distributed it, so that a return goes back to it.
type attrs struct {
	holder string
	state  State
	source string
}

// rng is one stored range.
type rng struct {
	span
	attrs
}

func rangeKey(typeCode string, first uint64) []byte {
	return append(store.Prefix(typeCode), store.U64(first)...)
}

func holderKey(holder, typeCode string, st State, first uint64) []byte {
	return append(store.Prefix(holder, typeCode, string(st)), store.U64(first)...)
}

func countKey(holder, typeCode string, st State) []byte {
	return store.Key(holder, typeCode, string(st))
}

// encodeRange: U64(last), state code, holder, 0x00, source.
func encodeRange(r rng) []byte {
	v := make([]byte, 0, 8+1+len(r.holder)+1+len(r.source))
	v = append(v, store.U64(r.last)...)
	v = append(v, stateCode(r.state))
	v = append(v, r.holder...)
	v = append(v, 0)
	return append(v, r.source...)
}

func decodeRange(k, v []byte) (rng, error) {
	if len(k) < 8 || len(v) < 10 {
		return rng{}, fmt.Errorf("inventory: corrupt range record %x", k)
	}
	var r rng
	r.first = store.ParseU64(k[len(k)-8:])
	r.last = store.ParseU64(v[:8])
	r.state = stateOf(v[8])
	rest := v[9:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return rng{}, fmt.Errorf("inventory: corrupt range record %x", k)
	}
	r.holder = string(rest[:i])
	r.source = string(rest[i+1:])
	return r, nil
}

// overlapping returns the stored ranges of the type that share a serial with s, in order. It
// costs one O(log n) seek plus one step per range returned.
func overlapping(tx *store.Tx, typeCode string, s span) ([]rng, error) {
	p := store.Prefix(typeCode)
	start := rangeKey(typeCode, s.first)
	c := tx.Cursor(bucketRanges)
	k, v := c.SeekLE(start)
	if k == nil || !bytes.HasPrefix(k, p) {
		k, v = c.Seek(start)
	}
	var out []rng
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		r, err := decodeRange(k, v)
		if err != nil {
			return nil, err
		}
		if r.first > s.last {
			break
		}
		if r.last < s.first {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// rangeAt returns the stored range that contains serial n, if any.
func rangeAt(tx *store.Tx, typeCode string, n uint64) (rng, bool, error) {
	rs, err := overlapping(tx, typeCode, span{n, n})
	if err != nil || len(rs) == 0 {
		return rng{}, false, err
	}
	return rs[0], true, nil
}

// Conflict is a sub-range of a request that cannot be moved, with the state its serials are in.
// HolderID is set only when the serials are held by the caller's own organisation; State is
// "unknown" for serials never received.
type Conflict struct {
	First      string `json:"first"`
	Last       string `json:"last"`
	Count      uint64 `json:"count"`
	State      State  `json:"state"`
	StateLabel string `json:"state_label"`
	HolderID   string `json:"holder_id,omitempty"`
	Own        bool   `json:"own"`
}

const stateUnknown State = "unknown"

func conflictOf(t *catalogue.LicenceType, s span, a *attrs, actorOrg string) Conflict {
	c := Conflict{First: t.FormatSerial(s.first), Last: t.FormatSerial(s.last), Count: s.n(), State: stateUnknown, StateLabel: "未入库"}
	if a != nil {
		c.State, c.StateLabel = a.state, a.state.Label()
		if a.holder == actorOrg {
			c.HolderID, c.Own = a.holder, true
		}
	}
	return c
}

// describe renders conflicts for an error message: "SP01-SP05（已使用，其他机构）、...".
func describe(cs []Conflict) string {
	var b strings.Builder
	for i, c := range cs {
		if i == rangeListShow {
			fmt.Fprintf(&b, "等共%d段", len(cs))
			break
		}
		if i > 0 {
			b.WriteString("、")
		}
		b.WriteString(SerialRange{First: c.First, Last: c.Last}.String())
		who := "其他机构"
		if c.Own {
			who = "本机构"
		}
		if c.State == stateUnknown {
			b.WriteString("（未入库）")
		} else {
			fmt.Fprintf(&b, "（%s，%s）", who, c.StateLabel)
		}
	}
	return b.String()
}

func conflictError(msg string, cs []Conflict) error {
	return certseal.Errorf(certseal.EConflict, "%s：%s", msg, describe(cs)).WithDetail("conflicts", cs)
}

// checkMove returns the sub-ranges of s whose serials are missing or for which ok is false. It
// writes nothing.
func checkMove(tx *store.Tx, t *catalogue.LicenceType, s span, ok func(rng) bool, actorOrg string) ([]rng, []Conflict, error) {
	rs, err := overlapping(tx, t.Code, s)
	if err != nil {
		return nil, nil, err
	}
	var cs []Conflict
	pos := s.first
	for _, r := range rs {
		if r.first > pos {
			cs = append(cs, conflictOf(t, span{pos, r.first - 1}, nil, actorOrg))
		}
		clip := span{max(r.first, s.first), min(r.last, s.last)}
		if !ok(r) {
			a := r.attrs
			cs = append(cs, conflictOf(t, clip, &a, actorOrg))
		}
		pos = clip.last + 1
	}
	if pos <= s.last {
		cs = append(cs, conflictOf(t, span{pos, s.last}, nil, actorOrg))
	}
	return rs, cs, nil
}

// ledger accumulates the writes of one movement: count deltas are applied once at the end.
type ledger struct {
	tx     *store.Tx
	typ    string
	deltas map[attrsKey]int64
}

type attrsKey struct {
	holder string
	state  State
}

func newLedger(tx *store.Tx, typeCode string) *ledger {
	return &ledger{tx: tx, typ: typeCode, deltas: map[attrsKey]int64{}}
}

func (l *ledger) put(r rng) error {
	if err := l.tx.Put(bucketRanges, rangeKey(l.typ, r.first), encodeRange(r)); err != nil {
		return err
	}
	return l.tx.Put(bucketByHolder, holderKey(r.holder, l.typ, r.state, r.first), store.U64(r.last))
}

func (l *ledger) del(r rng) error {
	if err := l.tx.Delete(bucketRanges, rangeKey(l.typ, r.first)); err != nil {
		return err
	}
	return l.tx.Delete(bucketByHolder, holderKey(r.holder, l.typ, r.state, r.first))
}

// insert stores r, merged with its neighbours when they touch it and share its attributes, so
// the ranges stay as few as possible. r's serials must be free.
func (l *ledger) insert(r rng) error {
	if r.first > 0 {
		if prev, ok, err := rangeAt(l.tx, l.typ, r.first-1); err != nil {
			return err
		} else if ok && prev.attrs == r.attrs {
			if err := l.del(prev); err != nil {
				return err
			}
			r.first = prev.first
		}
	}
	if v := l.tx.Get(bucketRanges, rangeKey(l.typ, r.last+1)); v != nil {
		next, err := decodeRange(rangeKey(l.typ, r.last+1), v)
		if err != nil {
			return err
		}
		if next.attrs == r.attrs {
			if err := l.del(next); err != nil {
				return err
			}
			r.last = next.last
		}
	}
	return l.put(r)
}

// move changes the attributes of the serials of s, which must be exactly covered by rs (from
// checkMove), to what to returns for each covering range.
func (l *ledger) move(rs []rng, s span, to func(rng) attrs) error {
	var runs []rng
	for _, r := range rs {
		clip := span{max(r.first, s.first), min(r.last, s.last)}
		if err := l.del(r); err != nil {
			return err
		}
		if r.first < clip.first {
			if err := l.put(rng{span{r.first, clip.first - 1}, r.attrs}); err != nil {
				return err
			}
		}
		if r.last > clip.last {
			if err := l.put(rng{span{clip.last + 1, r.last}, r.attrs}); err != nil {
				return err
			}
		}
		na := to(r)
		l.deltas[attrsKey{r.holder, r.state}] -= int64(clip.n())
		l.deltas[attrsKey{na.holder, na.state}] += int64(clip.n())
		if n := len(runs); n > 0 && runs[n-1].attrs == na && runs[n-1].last+1 == clip.first {
			runs[n-1].last = clip.last
		} else {
			runs = append(runs, rng{clip, na})
		}
	}
	for _, r := range runs {
		if err := l.insert(r); err != nil {
			return err
		}
	}
	return nil
}

// receive stores s as new stock; s must not overlap any known serial.
func (l *ledger) receive(s span, a attrs) error {
	l.deltas[attrsKey{a.holder, a.state}] += int64(s.n())
	k := store.Key(l.typ)
	total := store.ParseU64(l.tx.Get(bucketTotals, k))
	if err := l.tx.Put(bucketTotals, k, store.U64(total+s.n())); err != nil {
		return err
	}
	return l.insert(rng{s, a})
}

// flush applies the accumulated count deltas.
func (l *ledger) flush() error {
	keys := make([]attrsKey, 0, len(l.deltas))
	for k := range l.deltas {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].holder != keys[j].holder {
			return keys[i].holder < keys[j].holder
		}
		return keys[i].state < keys[j].state
	})
	for _, k := range keys {
		d := l.deltas[k]
		ck := countKey(k.holder, l.typ, k.state)
		old := l.tx.Get(bucketCounts, ck)
		if d == 0 && old != nil {
			continue
		}
		n := int64(store.ParseU64(old)) + d
		if n < 0 {
			return fmt.Errorf("inventory: count of %s/%s/%s would be negative", k.holder, l.typ, k.state)
		}
		if err := l.tx.Put(bucketCounts, ck, store.U64(uint64(n))); err != nil {
			return err
		}
	}
	return nil
}

// count returns the number of serials of the type the holder has in the state.
func count(tx *store.Tx, holder, typeCode string, st State) uint64 {
	return store.ParseU64(tx.Get(bucketCounts, countKey(holder, typeCode, st)))
}

// everHeld reports whether the holder has ever held serials of the type.
func everHeld(tx *store.Tx, holder, typeCode string) bool {
	found := false
	_ = tx.Scan(bucketCounts, store.Prefix(holder, typeCode), nil, func(_, _ []byte) error {
		found = true
		return store.ErrStop
	})
	return found
}

// parseSpans turns printed ranges into sorted serial spans and checks each: the prefix, the
// width, no serial 0, first <= last, and no two ranges overlapping. It returns an *Error with code
// EInvalid.
func parseSpans(t *catalogue.LicenceType, rs []SerialRange) ([]span, error) {
	if len(rs) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "请至少填写一个号段")
	}
	if len(rs) > MaxRanges {
		return nil, certseal.Errorf(certseal.EInvalid, "一次最多%d个号段", MaxRanges)
	}
	out := make([]span, 0, len(rs))
	for _, r := range rs {
		s, err := parseSpan(t, r.First, r.Last)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	for i := 1; i < len(out); i++ {
		if out[i].first <= out[i-1].last {
			return nil, certseal.Errorf(certseal.EInvalid, "号段 %s 与 %s 重叠",
				out[i-1].printed(t).String(), out[i].printed(t).String())
		}
	}
	return out, nil
}

func parseSpan(t *catalogue.LicenceType, first, last string) (span, error) {
	if first == "" || last == "" {
		return span{}, certseal.Errorf(certseal.EInvalid, "号段的起始编号和终止编号都不能为空")
	}
	if !t.HasPaperForm() {
		return span{}, certseal.Errorf(certseal.EInvalid, "证照类型“%s”没有纸质空白证照，不能管理印制编号", t.Name)
	}
	a, err := t.ParseSerial(first)
	if err != nil {
		return span{}, err
	}
	b, err := t.ParseSerial(last)
	if err != nil {
		return span{}, err
	}
	if a == 0 || b == 0 {
		return span{}, certseal.Errorf(certseal.EInvalid, "印制编号从 %s 开始，%s 无效", t.FormatSerial(1), t.FormatSerial(0))
	}
	if a > b {
		return span{}, certseal.Errorf(certseal.EInvalid, "起始编号 %s 大于终止编号 %s", first, last)
	}
	return span{a, b}, nil
}

func total(ss []span) uint64 {
	var n uint64
	for _, s := range ss {
		n += s.n()
	}
	return n
}

func printedAll(t *catalogue.LicenceType, ss []span) []SerialRange {
	out := make([]SerialRange, len(ss))
	for i, s := range ss {
		out[i] = s.printed(t)
	}
	return out
}

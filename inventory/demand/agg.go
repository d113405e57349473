package demand

import (
	"encoding/binary"
	"errors"

	"certseal"
	"certseal/internal/store"
)

// The aggregate record of a filing: what the summary needs of it, in a compact binary form, so
// that aggregating a round never decodes JSON. It is rewritten with every version of the filing.
//
//	uvarint filing id, string org id, string org name, string org kind, string status,
//	uvarint number of lines, then per line: string type code, varint quantity, approved,
//	last year's use, stock, suggested, byte flagged, string reason.
//
// A string is a uvarint length and the bytes.

// bucketAgg: U64(round) + org id -> aggregate record of the organisation's filing.
const bucketAgg store.Bucket = "demand_agg"

var errAgg = errors.New("demand: corrupt aggregate record")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeAgg(f *Filing) []byte {
	b := make([]byte, 0, 64+len(f.Lines)*48)
	b = binary.AppendUvarint(b, f.ID)
	b = appendString(b, f.OrgID)
	b = appendString(b, f.OrgName)
	b = appendString(b, string(f.OrgKind))
	b = appendString(b, string(f.Status))
	b = binary.AppendUvarint(b, uint64(len(f.Lines)))
	for i := range f.Lines {
		l := &f.Lines[i]
		b = appendString(b, l.TypeCode)
		for _, n := range []int64{l.Quantity, l.Approved, l.LastYearUse, l.InStock, l.Suggested} {
			b = binary.AppendVarint(b, n)
		}
		flag := byte(0)
		if l.Flagged {
			flag = 1
		}
		b = append(b, flag)
		b = appendString(b, l.Reason)
	}
	return b
}

// aggReader decodes an aggregate record; the byte slices it returns point into the record.
type aggReader struct {
	b   []byte
	err error
}

func (r *aggReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errAgg
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *aggReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errAgg
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *aggReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errAgg
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *aggReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errAgg
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// aggFiling is the head of an aggregate record.
type aggFiling struct {
	id      uint64
	orgID   string
	orgName string
	orgKind certseal.OrgKind
	status  FilingStatus
}

// aggLine is a line of an aggregate record; code and reason point into the record.
type aggLine struct {
	code                                            []byte
	quantity, approved, lastYearUse, stock, suggest int64
	flagged                                         bool
	reason                                          []byte
}

// scanAgg calls head for each filing of the round and, when head returns true, line for each of
// its lines. The byte slices of a line are only valid during the call.
func scanAgg(tx *store.Tx, roundID uint64, head func(f *aggFiling) bool, line func(f *aggFiling, l *aggLine)) error {
	return tx.Scan(bucketAgg, store.U64(roundID), nil, func(_, v []byte) error {
		r := aggReader{b: v}
		f := aggFiling{id: r.uvarint(), orgID: string(r.bytes()), orgName: string(r.bytes()),
			orgKind: certseal.OrgKind(r.bytes()), status: FilingStatus(r.bytes())}
		n := r.uvarint()
		if r.err != nil {
			return r.err
		}
		if !head(&f) {
			return nil
		}
		var l aggLine
		for range n {
			l.code = r.bytes()
			l.quantity, l.approved, l.lastYearUse, l.stock, l.suggest = r.varint(), r.varint(), r.varint(), r.varint(), r.varint()
			l.flagged = r.byte() == 1
			l.reason = r.bytes()
			if r.err != nil {
				return r.err
			}
			line(&f, &l)
		}
		return nil
	})
}

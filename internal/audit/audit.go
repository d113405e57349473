// Package audit is the append-only, hash-chained audit log. Every change in certseal appends an
// event in the same transaction as the change itself; each event stores the SHA-256 of the one
// before it, so that Verify can name the first event that was altered or removed.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"certseal"
	"certseal/internal/store"
)

// Events is the bucket of audit events, keyed by sequence number (big-endian).
const Events store.Bucket = "audit_events"

// Event is one audited change.
type Event struct {
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	UserID   string          `json:"user_id"`
	Username string          `json:"username"`
	OrgID    string          `json:"org_id"`
	Action   string          `json:"action"`
	Object   string          `json:"object"`
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// hashOf returns the hex SHA-256 of the event's content with its Hash cleared.
func hashOf(e Event) string {
	e.Hash = ""
	raw, _ := json.Marshal(e) // an Event always marshals
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Append adds an event to the log inside tx, chained to the last one. detail may be nil or any
// JSON-encodable value. It returns an error only when the transaction cannot be written.
func Append(tx *store.Tx, now time.Time, actor certseal.Actor, action, object string, detail any) error {
	var raw json.RawMessage
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		raw = b
	}
	// The head key holds the last event's hash, so appending never decodes an event.
	prev := string(tx.Get(store.Meta, keyHead))
	if prev == "" && tx.Sequence(Events) > 0 {
		if k, v := tx.Cursor(Events).Last(); k != nil {
			var last Event
			if err := json.Unmarshal(v, &last); err != nil {
				return fmt.Errorf("audit: read last event: %w", err)
			}
			prev = last.Hash
		}
	}
	seq, err := tx.NextID(Events)
	if err != nil {
		return err
	}
	e := Event{Seq: seq, Time: now.UTC(), UserID: actor.UserID, Username: actor.Username, OrgID: actor.OrgID,
		Action: action, Object: object, Detail: raw, PrevHash: prev}
	e.Hash = hashOf(e)
	if err := tx.Put(store.Meta, keyHead, []byte(e.Hash)); err != nil {
		return err
	}
	return tx.PutJSON(Events, store.U64(seq), e)
}

// keyHead is the Meta key of the last event's hash.
var keyHead = []byte("audit_head")

// Filter selects events for List; zero fields match everything.
type Filter struct {
	OrgID  string
	Action string // exact action, or a prefix ending in "." (e.g. "org.")
	Object string // exact object, or a prefix ending in "/"
	From   time.Time
	To     time.Time
}

func (f Filter) match(e *Event) bool {
	if f.OrgID != "" && e.OrgID != f.OrgID {
		return false
	}
	if f.Action != "" && e.Action != f.Action && !(strings.HasSuffix(f.Action, ".") && strings.HasPrefix(e.Action, f.Action)) {
		return false
	}
	if f.Object != "" && e.Object != f.Object && !(strings.HasSuffix(f.Object, "/") && strings.HasPrefix(e.Object, f.Object)) {
		return false
	}
	if !f.From.IsZero() && e.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !e.Time.Before(f.To) {
		return false
	}
	return true
}

// List returns up to limit events matching f, newest first, starting before sequence number
// `before` (0 for the newest), and the sequence number to pass as `before` for the next page (0
// when there is none).
func List(tx *store.Tx, f Filter, before uint64, limit int) ([]Event, uint64, error) {
	var out []Event
	var next uint64
	var start []byte
	if before > 0 {
		start = store.U64(before)
	}
	err := tx.ScanReverse(Events, nil, start, func(k, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		if !f.match(&e) {
			return nil
		}
		if len(out) == limit {
			next = out[len(out)-1].Seq
			return store.ErrStop
		}
		out = append(out, e)
		return nil
	})
	return out, next, err
}

// Result is the outcome of Verify.
type Result struct {
	OK     bool   `json:"ok"`
	Events int    `json:"events"`
	Broken uint64 `json:"first_broken_seq,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Verify recomputes the chain from the first event and reports the first event whose content
// does not match its hash, whose link does not match its predecessor, or whose sequence number
// skips one (a deleted event). It returns an error only when the store cannot be read.
func Verify(tx *store.Tx) (Result, error) {
	var r Result
	prev := ""
	var want uint64 = 1
	err := tx.Scan(Events, nil, nil, func(k, v []byte) error {
		seq := store.ParseU64(k)
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			r.Broken, r.Reason = seq, "事件无法解析（数据已损坏）"
			return store.ErrStop
		}
		switch {
		case seq != want:
			r.Broken, r.Reason = want, fmt.Sprintf("缺少第%d号事件（已被删除）", want)
		case e.Seq != seq:
			r.Broken, r.Reason = seq, "事件序号与存储位置不符"
		case e.PrevHash != prev:
			r.Broken, r.Reason = seq, "与上一事件的哈希链接不符"
		case hashOf(e) != e.Hash:
			r.Broken, r.Reason = seq, "事件内容与其哈希不符（已被篡改）"
		}
		if r.Broken != 0 {
			return store.ErrStop
		}
		r.Events++
		prev = e.Hash
		want++
		return nil
	})
	if err != nil {
		return r, err
	}
	if r.Broken == 0 && tx.Sequence(Events) >= want {
		r.Broken, r.Reason = want, fmt.Sprintf("缺少第%d号及之后的事件（已被删除）", want)
	}
	if head := tx.Get(store.Meta, keyHead); r.Broken == 0 && head != nil && string(head) != prev {
		r.Broken, r.Reason = want-1, "最后一个事件与记录的链尾哈希不符（已被篡改或替换）"
	}
	r.OK = r.Broken == 0
	return r, nil
}

package exchange

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"time"

	"certseal"
	"certseal/internal/store"
)

// Range selects the records of a file export: sequence numbers in (After, UpTo] (UpTo 0: to
// the newest) and times in [From, To) (zero: no bound).
type Range struct {
	After uint64
	UpTo  uint64
	From  time.Time
	To    time.Time
}

// ParseRange reads a range from the query values after, upto, from and to (dates 2006-01-02,
// China time; to is inclusive: the whole day). It returns an *certseal.Error (EInvalid) naming
// the bad value.
func ParseRange(get func(string) string) (Range, error) {
	var r Range
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"after", &r.After}, {"upto", &r.UpTo}} {
		if v := get(f.name); v != "" {
			n, err := parseSeq(v)
			if err != nil {
				return r, certseal.Errorf(certseal.EInvalid, "%s 应为非负整数序号", f.name).WithDetail("field", f.name)
			}
			*f.dst = n
		}
	}
	if r.UpTo != 0 && r.UpTo <= r.After {
		return r, certseal.Errorf(certseal.EInvalid, "upto（%d）应大于 after（%d）", r.UpTo, r.After).WithDetail("field", "upto")
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"from", &r.From, 0}, {"to", &r.To, 1}} {
		if v := get(f.name); v != "" {
			d, err := time.ParseInLocation("2006-01-02", v, certseal.China)
			if err != nil {
				return r, certseal.Errorf(certseal.EInvalid, "%s 应为日期，如 2026-12-01", f.name).WithDetail("field", f.name)
			}
			*f.dst = d.AddDate(0, 0, f.add)
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return r, certseal.Errorf(certseal.EInvalid, "起始日期不能晚于结束日期").WithDetail("field", "from")
	}
	return r, nil
}

// ParseSeq reads a cursor: a decimal sequence number of at most 20 digits. It returns an
// *certseal.Error (EInvalid).
func ParseSeq(s string) (uint64, error) {
	n, err := parseSeq(s)
	if err != nil {
		return 0, certseal.Errorf(certseal.EInvalid, "序号 %q 应为非负整数", s)
	}
	return n, nil
}

func parseSeq(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, fmt.Errorf("bad")
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad")
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, fmt.Errorf("overflow")
		}
		n = n*10 + d
	}
	return n, nil
}

// File is a file export: the document and its name.
type File struct {
	Name   string
	Type   string // the media type
	Data   []byte
	Count  int
	SHA256 string
}

// document is the file export's root, in JSON and XML.
type document struct {
	XMLName     xml.Name `json:"-" xml:"certseal_exchange"`
	Format      string   `json:"format" xml:"format,attr"`
	GeneratedAt string   `json:"generated_at" xml:"generated_at,attr"`
	After       uint64   `json:"after" xml:"after,attr"`
	UpTo        uint64   `json:"upto,omitempty" xml:"upto,attr,omitempty"`
	From        string   `json:"from,omitempty" xml:"from,attr,omitempty"`
	To          string   `json:"to,omitempty" xml:"to,attr,omitempty"`
	LastSeq     uint64   `json:"last_seq" xml:"last_seq,attr"`
	Count       int      `json:"count" xml:"count,attr"`
	Changes     []Record `json:"changes" xml:"change"`
}

// Export writes the records of r as one file, "json" or "xml", and audits it (exchange.export,
// with the range, the count and the file's SHA-256). It returns an *certseal.Error: EInvalid for
// another format, ETooLarge when more than MaxFile records match (narrow the range), EForbidden
// for a role other than admin or auditor.
func (s *Service) Export(ctx context.Context, actor certseal.Actor, r Range, format string) (File, error) {
	if err := mayExport(actor); err != nil {
		return File{}, err
	}
	if format != "json" && format != "xml" {
		return File{}, certseal.Errorf(certseal.EInvalid, "导出格式 %q 无效，应为 json 或 xml", format).WithDetail("field", "format")
	}
	now := s.now()
	d := document{Format: Format, GeneratedAt: now.In(certseal.China).Format(time.RFC3339), After: r.After, UpTo: r.UpTo}
	if !r.From.IsZero() {
		d.From = r.From.In(certseal.China).Format("2006-01-02")
	}
	if !r.To.IsZero() {
		d.To = r.To.In(certseal.China).AddDate(0, 0, -1).Format("2006-01-02")
	}
	var more bool
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		d.Changes, d.LastSeq, more, err = read(tx, r.After, r.UpTo, r.From, r.To, MaxFile)
		return err
	})
	if err != nil {
		return File{}, err
	}
	if more {
		return File{}, certseal.Errorf(certseal.ETooLarge, "符合条件的记录超过%d条，请缩小日期或序号范围分批导出", MaxFile)
	}
	if d.Changes == nil {
		d.Changes = []Record{}
	}
	d.Count = len(d.Changes)
	var buf bytes.Buffer
	f := File{Count: d.Count}
	stamp := now.In(certseal.China).Format("20060102-150405")
	switch format {
	case "json":
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return File{}, err
		}
		f.Name, f.Type = "证照交换-"+stamp+".json", "application/json"
	case "xml":
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		enc.Indent("", "  ")
		if err := enc.Encode(d); err != nil {
			return File{}, err
		}
		buf.WriteByte('\n')
		f.Name, f.Type = "证照交换-"+stamp+".xml", "application/xml"
	}
	f.Data = buf.Bytes()
	sum := sha256.Sum256(f.Data)
	f.SHA256 = hex.EncodeToString(sum[:])
	detail := map[string]any{"format": format, "after": r.After, "upto": r.UpTo, "from": d.From, "to": d.To, "count": f.Count, "sha256": f.SHA256}
	if err := s.audit(actor, now, "exchange.export", detail); err != nil {
		return File{}, err
	}
	return f, nil
}

package certs

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/templates"
)

// mayRead reports whether the actor may see a certificate's full record: administrators and
// auditors all; the issuing organisation its own; a city department the types it is responsible
// for; the county bureau a certificate is transferred to (06 办理转出, then 08 转入) the old
// version, and the bureau it came from the version transferred in.
func mayRead(tx *store.Tx, actor certseal.Actor, c *Certificate) bool {
	switch actor.Role {
	case certseal.RoleAdmin, certseal.RoleAuditor:
		return true
	case certseal.RoleDeptOfficer:
		t, err := catalogue.GetType(tx, c.TypeCode)
		return err == nil && t.ResponsibleOrgID == actor.OrgID
	}
	return actor.OrgID == c.IssuerOrgID || c.TransferToOrgID != "" && actor.OrgID == c.TransferToOrgID ||
		c.TransferFromOrgID != "" && actor.OrgID == c.TransferFromOrgID
}

// Get returns a certificate with its status as of now. It returns an *certseal.Error: ENotFound
// (also for a certificate the actor may not see).
func (s *Service) Get(ctx context.Context, actor certseal.Actor, id string) (Certificate, error) {
	c, err := s.readable(actor, id, nil)
	s.present(&c)
	return c, err
}

// readable reads certificate id for actor in one read transaction, with also, when set, run in
// the same transaction: ENotFound for an unknown certificate and one the actor may not see.
func (s *Service) readable(actor certseal.Actor, id string, also func(tx *store.Tx, c *Certificate) error) (Certificate, error) {
	var c Certificate
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if c, err = GetTx(tx, id); err != nil {
			return err
		}
		if !mayRead(tx, actor, &c) {
			return certseal.Errorf(certseal.ENotFound, "证照 %q 不存在", id)
		}
		if also != nil {
			return also(tx, &c)
		}
		return nil
	})
	return c, err
}

// present sets the status as of now on a certificate read from the store, computed from the
// clock: superseded by a newer version that has taken effect, expired by date, or 未生效 before
// its valid_from; and the Chinese label pages show (StatusText).
func (s *Service) present(c *Certificate) {
	if c.ID == "" {
		return
	}
	now := s.Clock.Now()
	if st := c.effectiveStatus(now); st != c.Status {
		c.Status = st
		switch st {
		case StatusExpired:
			c.StatusReason = "有效期已届满"
		case StatusPending:
			c.StatusReason = "自" + c.ValidFrom + "起生效"
		}
	}
	if c.Superseded(now) && c.Status == StatusOther {
		c.StatusReason = c.SupersededLabel()
		if c.SupersededByIdentifier != "" {
			c.StatusReason += "（" + c.SupersededByIdentifier + "）"
		}
	}
	c.StatusLabel = c.StatusText(now)
}

// Filter selects certificates in List.
type Filter struct {
	TypeCode   string
	HolderCode string
	Status     Status
	IssuerID   string
	From, To   time.Time // issue date range, [From, To)
	Query      string    // substring of the holder name or the licence number
}

// List returns up to limit certificates the actor may see, newest first, before the cursor (a
// certificate id; "" for the newest), and the next cursor.
func (s *Service) List(ctx context.Context, actor certseal.Actor, f Filter, cursor string, limit int) ([]Certificate, string, error) {
	var out []Certificate
	next := ""
	var before []byte
	if cursor != "" {
		k, ok := store.IDKey(cursor)
		if !ok {
			return nil, "", certseal.Errorf(certseal.EInvalid, "分页游标 %q 无效", cursor)
		}
		before = k
	}
	now := s.Clock.Now()
	err := s.DB.View(func(tx *store.Tx) error {
		visit := func(c Certificate) error {
			if !mayRead(tx, actor, &c) || !f.match(&c, now) {
				return nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return store.ErrStop
			}
			s.present(&c)
			out = append(out, c)
			return nil
		}
		// Use an index when the filter names a holder or an issuer; otherwise walk the records.
		var index store.Bucket
		var prefix []byte
		switch {
		case f.HolderCode != "":
			index, prefix = bucketByHolder, store.Prefix(f.HolderCode)
		case f.IssuerID != "":
			index, prefix = bucketByIssuer, store.Prefix(f.IssuerID)
		case actor.Role == certseal.RoleClerk || actor.Role == certseal.RoleBureauOfficer:
			index, prefix = bucketByIssuer, store.Prefix(actor.OrgID)
		}
		if index != "" {
			var start []byte
			if before != nil {
				start = append(append([]byte{}, prefix...), before...)
			}
			return tx.ScanReverse(index, prefix, start, func(k, _ []byte) error {
				c, err := GetTx(tx, itoa(store.ParseU64(k[len(prefix):])))
				if err != nil {
					return err
				}
				return visit(c)
			})
		}
		return tx.ScanReverse(bucketRecords, nil, before, func(_, v []byte) error {
			var c Certificate
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			return visit(c)
		})
	})
	return out, next, err
}

func (f *Filter) match(c *Certificate, now time.Time) bool {
	if f.TypeCode != "" && c.TypeCode != f.TypeCode {
		return false
	}
	if f.HolderCode != "" && c.Holder.Code != f.HolderCode {
		return false
	}
	if f.Status != "" && c.effectiveStatus(now) != f.Status {
		return false
	}
	if f.IssuerID != "" && c.IssuerOrgID != f.IssuerID {
		return false
	}
	if !f.From.IsZero() && c.CreatedAt.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !c.CreatedAt.Before(f.To) {
		return false
	}
	if f.Query != "" && !strings.Contains(c.Holder.Name, f.Query) && !strings.Contains(c.LicenceNumber, f.Query) {
		return false
	}
	return true
}

// ErrCodeNoPDF is the detail "reason" of PDF's ENotFound for an OFD-only certificate (a licence
// type whose format is ofd), which has no PDF file.
const ErrCodeNoPDF = "no_pdf"

// errNoPDF is the error for the PDF of an OFD-only certificate.
func errNoPDF(c *Certificate) error {
	return certseal.Errorf(certseal.ENotFound, "该证照只有 OFD 文件，没有 PDF：证照“%s”（%s）的证照类型只签发 OFD，请下载 OFD 文件", c.Name, c.LicenceNumber).
		WithDetail("reason", ErrCodeNoPDF).WithDetail("certificate_id", c.ID)
}

// PDF returns the signed PDF of a certificate the actor may see, checked against the SHA-256
// recorded when it was signed. It returns an *certseal.Error: ENotFound for an unknown
// certificate or an OFD-only one (reason no_pdf), or EInternal for a stored PDF that is damaged
// (never served; logged and audited).
func (s *Service) PDF(ctx context.Context, actor certseal.Actor, id string) ([]byte, Certificate, error) {
	var legacy []byte
	c, err := s.readable(actor, id, func(tx *store.Tx, c *Certificate) error {
		legacy = legacyPDFTx(tx, c.ID)
		return nil
	})
	if err != nil {
		return nil, c, err
	}
	if !c.HasPDF() && legacy == nil {
		return nil, c, errNoPDF(&c)
	}
	pdf, err := s.pdfOf(ctx, actor, &c, legacy) // checked against its recorded SHA-256
	return pdf, c, err
}

// PrintPDF renders the overlay (套打) for printing the certificate onto its pre-printed blank
// form, shifted by the issuing organisation's printer calibration. The overlay is a print job
// rendered from the template and the record, not the certificate: an OFD-only certificate has
// one too, as a PDF for the printer, unsigned. It returns an
// *certseal.Error: ENotFound, or EInvalid for an electronic certificate.
func (s *Service) PrintPDF(ctx context.Context, actor certseal.Actor, id string) ([]byte, Certificate, error) {
	var org certseal.Org
	c, err := s.readable(actor, id, func(tx *store.Tx, c *Certificate) error {
		var err error
		org, err = orgs.Get(tx, c.IssuerOrgID)
		return err
	})
	if err != nil {
		return nil, c, err
	}
	if c.Serial == "" {
		return nil, c, certseal.Errorf(certseal.EInvalid, "电子证照没有纸质套打版")
	}
	tpl, err := s.Templates.Template(ctx, c.TemplateID, c.TemplateVersion)
	if err != nil {
		return nil, c, err
	}
	values := make(map[string]string, len(c.Values))
	for k, v := range c.Values {
		values[k] = v
	}
	qr := c.QRText // the e-certificate's signed QR text; a record from before it has none
	if qr == "" {
		qr = ShortURL(s.publicBase(), c.ID)
	}
	pdf, err := s.Renderer.Render(tpl, templates.Document{Values: values, LicenceNumber: c.LicenceNumber, QRPayload: qr,
		Mode: templates.Overlay, OffsetX: org.PrintOffsetX, OffsetY: org.PrintOffsetY, Created: c.CreatedAt,
		Title: c.Name + " " + c.LicenceNumber + " 套打 " + c.Serial})
	return pdf, c, err
}

// History returns the operations on a certificate the actor may see, oldest first.
func (s *Service) History(ctx context.Context, actor certseal.Actor, id string) ([]Operation, error) {
	var ops []Operation
	err := s.DB.View(func(tx *store.Tx) error {
		c, err := GetTx(tx, id)
		if err != nil {
			return err
		}
		if !mayRead(tx, actor, &c) {
			return certseal.Errorf(certseal.ENotFound, "证照 %q 不存在", id)
		}
		ops, err = HistoryTx(tx, id)
		return err
	})
	return ops, err
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

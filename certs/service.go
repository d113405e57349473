package certs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"certseal"
	"certseal/internal/docstore"
	"certseal/internal/store"
	"certseal/seals"
	"certseal/templates"
)

// Signing is what signing a certificate with a seal needs (the seal, a crypto.Signer for its
// key, its certificate, the CA chain and the picture); the private key stays behind the
// crypto.Signer interface (upspin's rule: keys never leave package seals).
type Signing = seals.Signing

// SealSource gives the signing material of a seal after checking that the actor's organisation
// owns it, it is active and valid at `at`, and it may seal the licence type; and records seal
// uses (docSHA256 in hexadecimal). *seals.Registry implements it.
type SealSource interface {
	SignerFor(ctx context.Context, actor certseal.Actor, sealID, typeCode string, at time.Time) (*Signing, error)
	RecordUseTx(tx *store.Tx, now time.Time, actor certseal.Actor, sealID, docSHA256, purpose, objectID string) error
}

// TemplateSource returns a validated template by id and version (0: the latest).
type TemplateSource interface {
	Template(ctx context.Context, id string, version int) (*templates.Template, error)
}

// Validator checks the signatures of a PDF and tells the seal's status at signing time and now.
// *seals.Registry implements it.
type Validator interface {
	ValidateWithStatus(ctx context.Context, pdf []byte) ([]seals.Report, error)
}

// The seal registry is the seal source, the validator and the status-list signer without
// adapters.
var (
	_ SealSource = (*seals.Registry)(nil)
	_ Validator  = (*seals.Registry)(nil)
	_ ListSigner = (*seals.Registry)(nil)
)

// SignatureCheck is one signature of a PDF as the seal registry sees it.
type SignatureCheck struct {
	Valid          bool      `json:"valid"`
	Modified       bool      `json:"modified"`
	Trusted        bool      `json:"trusted"`
	SealID         string    `json:"seal_id"`
	SealName       string    `json:"seal_name"`
	Org            string    `json:"org"`
	SignedAt       time.Time `json:"signed_at"`
	StatusAtSign   string    `json:"seal_status_at_signing"`
	StatusNow      string    `json:"seal_status_now"`
	Problems       []string  `json:"problems,omitempty"`
	CoversWholeDoc bool      `json:"covers_whole_document"`
	// SignedLength is where the signed revision ends (the end of the signature's byte range):
	// for a certificate with bytes appended, the issued file is the first SignedLength bytes.
	SignedLength int64 `json:"-"`

	// ProvenTime is the signing time proven by a trusted RFC 3161 timestamp, TSA the timestamp
	// authority, PAdESLevel the level found (B-B, B-T, B-LT, B-LTA); DocTimestamp marks a
	// document timestamp rather than a seal's signature (verify_signed.go).
	ProvenTime   *time.Time `json:"proven_time,omitempty"`
	TSA          string     `json:"tsa,omitempty"`
	PAdESLevel   string     `json:"pades_level,omitempty"`
	DocTimestamp bool       `json:"document_timestamp,omitempty"`
	// CertValidAtSigning and CertValidNow: the seal certificate's validity at the (proven, else
	// claimed) signing time and now.
	CertValidAtSigning bool         `json:"seal_cert_valid_at_signing"`
	CertValidNow       bool         `json:"seal_cert_valid_now"`
	statusAtSign       seals.Status // StatusAtSign and StatusNow, as codes
	statusNow          seals.Status
}

// signatureChecks returns the registry's reports as the signatures of a verdict.
func signatureChecks(reports []seals.Report) []SignatureCheck {
	out := make([]SignatureCheck, 0, len(reports))
	for _, r := range reports {
		out = append(out, SignatureCheck{
			Valid: r.Valid, Modified: r.Modified, Trusted: r.Trusted, SealID: r.SealID, SealName: r.SealName, Org: r.Org,
			SignedAt: r.Time, StatusAtSign: r.StatusAtSigning.Label(), StatusNow: r.StatusNow.Label(), Problems: r.Problems,
			CoversWholeDoc: !r.Modified, SignedLength: r.ByteRange[2] + r.ByteRange[3],
		})
		longTermCheck(&out[len(out)-1], r)
	}
	return out
}

// Service issues certificates and runs their lifecycle.
type Service struct {
	DB        *store.DB
	Clock     certseal.Clock
	Seals     SealSource
	Templates TemplateSource
	Validator Validator
	Renderer  *templates.Renderer
	// Docs holds the signed PDFs by their SHA-256 (the records keep the digest).
	Docs docstore.Store
	// BaseURL is the public address verification URLs start with, e.g. https://zw.example.gov.cn.
	BaseURL string
	Log     *slog.Logger
	// Notify is called after a commit that appended outbox events (it wakes the pusher).
	Notify func()

	claimMu sync.Mutex
	claims  map[string]bool
	numbers numbers  // licence numbers, identifier serials and record ids, handed out from memory
	twins   sync.Map // seal id + "\x00" + algorithm -> the id of its other registration (ofd.go)
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) notify(tx *store.Tx) {
	if s.Notify != nil {
		tx.OnCommit(s.Notify)
	}
}

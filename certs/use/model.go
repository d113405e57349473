package use

import (
	"time"

	"certseal/certs"
	"certseal/internal/store"
)

// Buckets of the use of certificates.
const (
	bucketConsents   store.Bucket = "use_consents"    // U64(id) -> Consent
	bucketConsentsBy store.Bucket = "use_consents_by" // Prefix(cert id) + U64(id) -> nil
	bucketAuths      store.Bucket = "use_auths"       // U64(id) -> Authorisation
	bucketUses       store.Bucket = "use_records"     // U64(id) -> Use
	bucketUsesByCert store.Bucket = "use_by_cert"     // Prefix(cert id) + U64(id) -> nil
	bucketCopyHash   store.Bucket = "use_copy_hash"   // hex SHA-256 of a copy -> use id
	bucketLog        store.Bucket = "use_log"         // Prefix(cert id) + U64(seq) -> Entry
	bucketCounts     store.Bucket = "use_counts"      // Key(org id, consent kind) -> U64(uses)
)

// Error codes of this package; server maps both to 403.
const (
	// EConsentRequired: the request has neither a consent code nor an authorisation; only the
	// public verdict is returned (in the error's detail).
	EConsentRequired = "consent_required"
	// EConsentInvalid: the consent code is wrong, expired, used up or locked.
	EConsentInvalid = "consent_invalid"
)

// Consent kinds of a use.
const (
	ConsentCode          = "code"          // the holder's short-lived code
	ConsentAuthorisation = "authorisation" // the city center's standing authorisation
)

// Consent is a holder's short-lived consent code (stored hashed, never in clear).
type Consent struct {
	ID            string    `json:"id"`
	CertificateID string    `json:"certificate_id"`
	Identifier    string    `json:"identifier"`
	Proof         string    `json:"proof"` // file or holder_code: how the holder proved possession
	Salt          string    `json:"salt"`
	Hash          string    `json:"hash"` // hex SHA-256 of salt, certificate id and code
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	MaxUses       int       `json:"max_uses"`
	Uses          int       `json:"uses"`
	Failures      int       `json:"failures"` // wrong codes tried against the certificate while this one was live
}

// live reports whether the consent may still be redeemed at now.
func (c *Consent) live(now time.Time) bool {
	return now.Before(c.ExpiresAt) && c.Uses < c.MaxUses && c.Failures < MaxCodeFailures
}

// Grant is what the holder receives: the code (shown once), its expiry and the certificate it
// names.
type Grant struct {
	Code          string    `json:"code"`
	ConsentID     string    `json:"consent_id"`
	ExpiresAt     time.Time `json:"expires_at"`
	MaxUses       int       `json:"max_uses"`
	Identifier    string    `json:"identifier"`
	LicenceNumber string    `json:"licence_number"`
	Name          string    `json:"name"`
	HolderName    string    `json:"holder_name"`
	// QRText is what the QR code holds: the certificate's identifier and the code.
	QRText string `json:"qr_text"`
}

// Proof is how a holder proves possession when asking for a consent code: the certificate's
// file (PDF or OFD), or its licence number (or identifier) with the holder's code (统一社会信用代码
// or 身份证号).
type Proof struct {
	File       []byte `json:"-"`
	Ref        string `json:"ref,omitempty"`
	HolderCode string `json:"holder_code,omitempty"`
}

// Authorisation is a standing authorisation (授权) the city center gives a using organisation
// to use certificates for a catalogue item (and optionally one licence type) until a date,
// without a consent code each time.
type Authorisation struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	OrgName   string    `json:"org_name"`
	ItemCode  string    `json:"item_code"`
	ItemName  string    `json:"item_name"`
	TypeCode  string    `json:"type_code,omitempty"` // empty: every type bound to the item
	ValidTo   string    `json:"valid_to"`            // last day in force, 2006-01-02
	Note      string    `json:"note,omitempty"`
	Revoked   bool      `json:"revoked,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AuthorisationInput creates or changes an authorisation.
type AuthorisationInput struct {
	OrgID    string `json:"org_id"`
	ItemCode string `json:"item_code"`
	TypeCode string `json:"type_code,omitempty"`
	ValidTo  string `json:"valid_to"`
	Note     string `json:"note,omitempty"`
}

// Request is a department user's use request (调用).
type Request struct {
	// Ref is the certificate's identifier or licence number; or HolderCode with TypeCode.
	Ref        string `json:"ref,omitempty"`
	HolderCode string `json:"holder_code,omitempty"`
	TypeCode   string `json:"type_code,omitempty"`
	// ItemCode is the catalogue item the use is for, BusinessSerial its 办件编号, Purpose what
	// the copy may be used for (e.g. 开户), ValidUntil the copy's last day (default 30 days).
	ItemCode       string `json:"item_code"`
	BusinessSerial string `json:"business_serial"`
	Purpose        string `json:"purpose"`
	ConsentCode    string `json:"consent_code,omitempty"`
	ValidUntil     string `json:"valid_until,omitempty"`
}

// Use is one recorded use of a certificate.
type Use struct {
	ID             string    `json:"id"`
	CertificateID  string    `json:"certificate_id"`
	Identifier     string    `json:"identifier"`
	LicenceNumber  string    `json:"licence_number"`
	LicenceName    string    `json:"licence_name"`
	HolderName     string    `json:"holder_name"`
	TypeCode       string    `json:"type_code"`
	ItemCode       string    `json:"item_code"`
	ItemName       string    `json:"item_name"`
	BusinessSerial string    `json:"business_serial"`
	Purpose        string    `json:"purpose"`
	Consent        string    `json:"consent"` // code or authorisation
	ConsentID      string    `json:"consent_id"`
	OrgID          string    `json:"org_id"`
	OrgName        string    `json:"org_name"`
	UserID         string    `json:"user_id"`
	Username       string    `json:"username"`
	Time           time.Time `json:"time"`
	ValidUntil     string    `json:"valid_until"`
	Stamp          []string  `json:"stamp"` // the lines of the purpose stamp
	SealID         string    `json:"seal_id"`
	OriginalSHA256 string    `json:"original_sha256"`
	OriginalSize   int       `json:"original_size"`
	CopySHA256     string    `json:"copy_sha256"`
	CopySize       int       `json:"copy_size"`
	CopyURL        string    `json:"copy_url"`
}

// Entry is one line of a certificate's use log.
type Entry struct {
	Seq           uint64    `json:"seq"`
	Time          time.Time `json:"time"`
	Action        string    `json:"action"` // consent.issued, consent.redeemed, consent.failed, use
	Label         string    `json:"label"`
	CertificateID string    `json:"certificate_id"`
	OrgName       string    `json:"org_name,omitempty"`
	Username      string    `json:"username,omitempty"`
	Detail        string    `json:"detail,omitempty"`
	UseID         string    `json:"use_id,omitempty"`
}

// CopyInfo says, in a verification, that the file is a purpose-stamped copy: for whom, for
// what and until when.
type CopyInfo struct {
	UseID          string `json:"use_id"`
	OrgName        string `json:"org_name"`
	Purpose        string `json:"purpose"`
	ItemName       string `json:"item_name"`
	BusinessSerial string `json:"business_serial"`
	StampedAt      string `json:"stamped_at"`
	ValidUntil     string `json:"valid_until"`
	Expired        bool   `json:"expired"`
	// OriginalVerdict and OriginalLabel are the original certificate's own verdict now.
	OriginalVerdict string `json:"original_verdict"`
	OriginalLabel   string `json:"original_label"`
}

// Verdict is the verification of a file that may be a copy: the PDF verdict and, for a copy,
// what it is for.
type Verdict struct {
	certs.PDFVerdict
	Copy *CopyInfo `json:"copy,omitempty"`
}

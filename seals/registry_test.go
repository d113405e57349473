package seals_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/seals"
)

var regStart = time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)

type regEnv struct {
	db     *store.DB
	reg    *seals.Registry
	clock  *certseal.FixedClock
	master []byte
	ids    map[string]string
	admin  certseal.Actor
	lizhou certseal.Actor // a clerk of 广元市利州区行政审批局
	other  certseal.Actor // a clerk of 广元市昭化区行政审批局
}

func newRegEnv(t testing.TB) *regEnv {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	res, err := demo.Load(db, regStart)
	if err != nil {
		t.Fatal(err)
	}
	master := make([]byte, seals.MasterKeySize)
	rand.Read(master)
	keys, err := seals.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	clock := &certseal.FixedClock{T: regStart}
	reg, err := seals.NewRegistry(db, keys, clock)
	if err != nil {
		t.Fatal(err)
	}
	return &regEnv{
		db: db, reg: reg, clock: clock, master: master, ids: res.Orgs,
		admin:  certseal.Actor{UserID: "1", Username: "admin", OrgID: res.Orgs[demo.CityCenterName], OrgKind: certseal.KindCityCenter, Role: certseal.RoleAdmin},
		lizhou: certseal.Actor{UserID: "20", Username: "lizhou-clerk", OrgID: res.Orgs["广元市利州区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk},
		other:  certseal.Actor{UserID: "21", Username: "zhaohua-clerk", OrgID: res.Orgs["广元市昭化区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk},
	}
}

// lizhouSeal is the registration of 广元市利州区行政审批局's dedicated approval seal.
func (e *regEnv) lizhouSeal() seals.NewSeal {
	return seals.NewSeal{
		Name: "广元市利州区行政审批局行政审批专用章", OrgID: e.ids["广元市利州区行政审批局"], Type: seals.TypeDedicatedApproval,
		Code: "5108020012345", Auth: seals.AuthDoc{Number: "广府函〔2021〕58号", Date: "2021-06-18"},
		LicenceTypes: []string{demo.TypeFood, demo.TypeConstruction}, ValidTo: regStart.AddDate(3, 0, 0),
	}
}

func (e *regEnv) create(t testing.TB, n seals.NewSeal) seals.Seal {
	t.Helper()
	s, err := e.reg.Create(context.Background(), e.admin, n)
	if err != nil {
		t.Fatalf("create %s: %v", n.Name, err)
	}
	return s
}

func (e *regEnv) backup(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := e.db.Backup(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := certseal.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
	if code != "" && !strings.ContainsFunc(certseal.ErrorMessage(err), func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
		t.Errorf("error message %q is not in Chinese", certseal.ErrorMessage(err))
	}
}

func TestRegistryLifecycle(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	if !strings.HasPrefix(s.ID, "ES510802") || len(s.ID) != 14 {
		t.Errorf("id %q, want ES510802 and a 6-digit sequence", s.ID)
	}
	if s.Status != seals.StatusActive || s.DiameterMM != 42 || s.OrgName != "广元市利州区行政审批局" || s.Inscription() != "行政审批专用章" {
		t.Errorf("new seal: %+v", s)
	}
	// The certificate names the seal and chains to the CA.
	cert, err := x509.ParseCertificate(s.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := e.reg.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("seal certificate not signed by the CA: %v", err)
	}
	if cert.Subject.CommonName != s.Name || cert.Subject.OrganizationalUnit[0] != s.Code || cert.SerialNumber.Text(16) != s.CertSerial {
		t.Errorf("certificate subject %v serial %s, seal %+v", cert.Subject, cert.SerialNumber.Text(16), s)
	}
	if ca.Cert.Subject.CommonName != seals.CAName {
		t.Errorf("CA name %q, want %q", ca.Cert.Subject.CommonName, seals.CAName)
	}
	got, err := e.reg.Get(ctx, s.ID)
	if err != nil || got.Code != s.Code {
		t.Fatalf("get: %v %+v", err, got)
	}
	_, err = e.reg.Get(ctx, "ES510802999999")
	wantCode(t, err, certseal.ENotFound)

	// A second seal of another organisation, then the filters.
	other := e.lizhouSeal()
	other.Name, other.OrgID, other.Code, other.Type = "广元市昭化区行政审批局公章", e.ids["广元市昭化区行政审批局"], "5108110000001", seals.TypeOfficial
	o := e.create(t, other)
	if o.Inscription() != "公章" {
		t.Errorf("inscription %q", o.Inscription())
	}
	for name, c := range map[string]struct {
		f    seals.SealFilter
		want int
	}{
		"all":      {seals.SealFilter{}, 2},
		"org":      {seals.SealFilter{OrgID: e.ids["广元市利州区行政审批局"]}, 1},
		"official": {seals.SealFilter{Type: seals.TypeOfficial}, 1},
		"revoked":  {seals.SealFilter{Status: seals.StatusRevoked}, 0},
	} {
		items, _, err := e.reg.List(ctx, c.f, "", 10)
		if err != nil || len(items) != c.want {
			t.Errorf("list %s: got %d (%v), want %d", name, len(items), err, c.want)
		}
	}
	page, next, err := e.reg.List(ctx, seals.SealFilter{}, "", 1)
	if err != nil || len(page) != 1 || next == "" {
		t.Fatalf("first page: %v %d %q", err, len(page), next)
	}
	page2, next2, err := e.reg.List(ctx, seals.SealFilter{}, next, 1)
	if err != nil || len(page2) != 1 || next2 != "" || page2[0].ID == page[0].ID {
		t.Errorf("second page: %v %+v %q", err, page2, next2)
	}

	// Status changes.
	_, err = e.reg.Suspend(ctx, e.admin, s.ID, " ")
	wantCode(t, err, certseal.EInvalid)
	_, err = e.reg.Suspend(ctx, e.lizhou, s.ID, "印章遗失")
	wantCode(t, err, certseal.EForbidden)
	e.clock.Set(regStart.Add(time.Hour))
	if s, err = e.reg.Suspend(ctx, e.admin, s.ID, "印章遗失待查"); err != nil || s.Status != seals.StatusSuspended {
		t.Fatalf("suspend: %v %s", err, s.Status)
	}
	_, err = e.reg.Suspend(ctx, e.admin, s.ID, "再次暂停")
	wantCode(t, err, certseal.EConflict)
	e.clock.Set(regStart.Add(2 * time.Hour))
	if s, err = e.reg.Reinstate(ctx, e.admin, s.ID, "已找回"); err != nil || s.Status != seals.StatusActive {
		t.Fatalf("reinstate: %v %s", err, s.Status)
	}
	_, err = e.reg.Reinstate(ctx, e.admin, s.ID, "再次恢复")
	wantCode(t, err, certseal.EConflict)
	e.clock.Set(regStart.Add(3 * time.Hour))
	if s, err = e.reg.Revoke(ctx, e.admin, s.ID, "机构撤并"); err != nil || s.Status != seals.StatusRevoked || s.StatusReason != "机构撤并" {
		t.Fatalf("revoke: %v %+v", err, s)
	}
	for name, f := range map[string]func(context.Context, certseal.Actor, string, string) (seals.Seal, error){
		"revoke": e.reg.Revoke, "reinstate": e.reg.Reinstate, "suspend": e.reg.Suspend,
	} {
		_, err := f(ctx, e.admin, s.ID, "撤销后再变更")
		if certseal.ErrorCode(err) != certseal.EConflict {
			t.Errorf("%s after revoke: got %v, want conflict (revoked is final)", name, err)
		}
	}
	if len(s.History) != 4 {
		t.Fatalf("history: %+v", s.History)
	}
	for at, want := range map[time.Duration]seals.Status{
		-time.Hour: seals.StatusUnknown, 0: seals.StatusActive, 90 * time.Minute: seals.StatusSuspended,
		150 * time.Minute: seals.StatusActive, 4 * time.Hour: seals.StatusRevoked,
	} {
		if got := s.StatusAt(regStart.Add(at)); got != want {
			t.Errorf("status at +%v: got %s, want %s", at, got, want)
		}
	}
	if got := o.EffectiveStatus(o.ValidTo.Add(time.Second)); got != seals.StatusExpired {
		t.Errorf("after valid_to: got %s, want expired", got)
	}
	items, _, _ := e.reg.List(ctx, seals.SealFilter{Status: seals.StatusRevoked}, "", 10)
	if len(items) != 1 || items[0].ID != s.ID {
		t.Errorf("revoked filter: %+v", items)
	}
}

func TestCreateRefuses(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	e.create(t, e.lizhouSeal()) // makes the CA, and a code to clash with
	before := e.backup(t)
	for name, c := range map[string]struct {
		actor certseal.Actor
		edit  func(n *seals.NewSeal)
		code  string
	}{
		"clerk":              {e.lizhou, func(n *seals.NewSeal) { n.Code = "5108020000099" }, certseal.EForbidden},
		"code of 12 digits":  {e.admin, func(n *seals.NewSeal) { n.Code = "510802001234" }, certseal.EInvalid},
		"code with a letter": {e.admin, func(n *seals.NewSeal) { n.Code = "510802001234X" }, certseal.EInvalid},
		"duplicate code":     {e.admin, func(n *seals.NewSeal) {}, certseal.EConflict},
		"unknown org":        {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.OrgID = "999" }, certseal.ENotFound},
		"printer": {e.admin, func(n *seals.NewSeal) {
			n.Code = "5108020000099"
			n.OrgID = e.ids["成都川印证件印务有限公司"]
		}, certseal.EInvalid},
		"approval seal of a city department": {e.admin, func(n *seals.NewSeal) {
			n.Code = "5108020000099"
			n.OrgID = e.ids["广元市市场监督管理局"]
		}, certseal.EInvalid},
		"unknown licence type": {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.LicenceTypes = []string{"11100000000013338W999"} }, certseal.ENotFound},
		"no licence type":      {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.LicenceTypes = nil }, certseal.EInvalid},
		"no authorisation":     {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.Auth = seals.AuthDoc{} }, certseal.EInvalid},
		"bad authorisation date": {e.admin, func(n *seals.NewSeal) {
			n.Code = "5108020000099"
			n.Auth.Date = "2021/06/18"
		}, certseal.EInvalid},
		"valid_to before valid_from": {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.ValidTo = regStart.Add(-time.Hour) }, certseal.EInvalid},
		"beyond the CA":              {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.ValidTo = regStart.AddDate(30, 0, 0) }, certseal.EInvalid},
		"unknown type":               {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.Type = "personal" }, certseal.EInvalid},
		"character not in the font":  {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.Name = "广元市利州区行政审批局🙂章" }, certseal.EInvalid},
		"diameter":                   {e.admin, func(n *seals.NewSeal) { n.Code = "5108020000099"; n.DiameterMM = 200 }, certseal.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			n := e.lizhouSeal()
			c.edit(&n)
			_, err := e.reg.Create(ctx, c.actor, n)
			wantCode(t, err, c.code)
			if !bytes.Equal(e.backup(t), before) {
				t.Error("a refused registration changed the database")
			}
		})
	}
}

func TestSignerForRefusals(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	now := regStart.Add(time.Hour)
	e.clock.Set(now)
	mk := func(code string) seals.Seal {
		n := e.lizhouSeal()
		n.Code = code
		n.ValidTo = regStart.AddDate(1, 0, 0)
		return e.create(t, n)
	}
	good := mk("5108020000001")
	suspended := mk("5108020000002")
	revoked := mk("5108020000003")
	if _, err := e.reg.Suspend(ctx, e.admin, suspended.ID, "暂停"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Revoke(ctx, e.admin, revoked.ID, "吊销"); err != nil {
		t.Fatal(err)
	}

	g, err := e.reg.SignerFor(ctx, e.lizhou, good.ID, demo.TypeFood, now)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Cert.PublicKey.(*ecdsa.PublicKey).Equal(g.Signer.Public()) || len(g.Chain) != 1 || g.Picture == nil || g.Seal.ID != good.ID {
		t.Errorf("signing: %+v", g)
	}
	for name, c := range map[string]struct {
		actor certseal.Actor
		id    string
		typ   string
		at    time.Time
		code  string
	}{
		"suspended":                   {e.lizhou, suspended.ID, demo.TypeFood, now, certseal.EConflict},
		"revoked":                     {e.lizhou, revoked.ID, demo.TypeFood, now, certseal.EConflict},
		"expired":                     {e.lizhou, good.ID, demo.TypeFood, regStart.AddDate(1, 0, 1), certseal.EConflict},
		"before its validity":         {e.lizhou, good.ID, demo.TypeFood, regStart.Add(-time.Hour), certseal.EConflict},
		"not authorised for the type": {e.lizhou, good.ID, demo.TypeRoadTransport, now, certseal.EForbidden},
		"another organisation":        {e.other, good.ID, demo.TypeFood, now, certseal.EForbidden},
		"unknown seal":                {e.lizhou, "ES510802999999", demo.TypeFood, now, certseal.ENotFound},
		"no licence type":             {e.lizhou, good.ID, "", now, certseal.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			g, err := e.reg.SignerFor(ctx, c.actor, c.id, c.typ, c.at)
			if g != nil {
				t.Error("a refusal returned a signer")
			}
			wantCode(t, err, c.code)
		})
	}
	// Expired by the clock: the seal-use log refuses too.
	e.clock.Set(regStart.AddDate(1, 0, 1))
	err = e.db.Update(func(tx *store.Tx) error {
		return seals.RecordUseTx(tx, e.clock.Now(), e.lizhou, good.ID, sha256.Sum256([]byte("x")), "电子证照签章", "C1")
	})
	wantCode(t, err, certseal.EConflict)
}

// TestSignStatusAtSigningAndNow signs a certificate with an active seal through the registry,
// revokes the seal, and validates: active at signing time, revoked now.
func TestSignStatusAtSigningAndNow(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	signTime := regStart.Add(24 * time.Hour)
	e.clock.Set(signTime)
	g, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, signTime)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := seals.SignPDF(gofpdfDoc(t), g.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", signTime))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(signed)
	if err := e.db.Update(func(tx *store.Tx) error {
		return seals.RecordUseTx(tx, signTime, e.lizhou, s.ID, sum, "食品经营许可证 JY15108020000001", "cert-1")
	}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "signed.pdf")
	os.WriteFile(file, signed, 0o600)

	reps, err := e.reg.ValidateWithStatus(ctx, signed)
	if err != nil || len(reps) != 1 {
		t.Fatalf("validate: %v %+v", err, reps)
	}
	r := reps[0]
	if !r.Valid || !r.Trusted || r.Modified || !r.Registered || r.StatusAtSigning != seals.StatusActive || r.StatusNow != seals.StatusActive || len(r.Problems) != 0 {
		t.Errorf("before revocation: %+v", r)
	}

	e.clock.Set(signTime.Add(48 * time.Hour))
	if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	reps, err = e.reg.ValidateWithStatus(ctx, signed)
	if err != nil {
		t.Fatal(err)
	}
	r = reps[0]
	if !r.Valid || !r.Trusted || r.StatusAtSigning != seals.StatusActive || r.StatusNow != seals.StatusRevoked {
		t.Errorf("after revocation: got at signing %s, now %s (valid %v trusted %v); want active, revoked", r.StatusAtSigning, r.StatusNow, r.Valid, r.Trusted)
	}
	if !strings.Contains(strings.Join(r.Problems, ";"), "吊销") {
		t.Errorf("problems %q do not say the seal is revoked", r.Problems)
	}

	// The seal-use log, newest first.
	uses, next, err := e.reg.Uses(ctx, s.ID, "", 10)
	if err != nil || len(uses) != 1 || next != "" {
		t.Fatalf("uses: %v %+v", err, uses)
	}
	if u := uses[0]; u.DocSHA256 != hex.EncodeToString(sum[:]) || u.Username != "lizhou-clerk" || u.ObjectID != "cert-1" || !u.Time.Equal(signTime) {
		t.Errorf("use: %+v", u)
	}
	// A revoked seal records no more uses.
	err = e.db.Update(func(tx *store.Tx) error {
		return seals.RecordUseTx(tx, e.clock.Now(), e.lizhou, s.ID, sum, "再次签章", "cert-2")
	})
	wantCode(t, err, certseal.EConflict)

	if out := pdfsig(t, file); !strings.Contains(out, "Signature is Valid.") {
		t.Errorf("pdfsig: got\n%s\nwant Signature is Valid.", out)
	}
}

func TestUsesPages(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	for i := 0; i < 5; i++ {
		if err := e.db.Update(func(tx *store.Tx) error {
			return seals.RecordUseTx(tx, e.clock.Now(), e.lizhou, s.ID, sha256.Sum256([]byte{byte(i)}), "签章", "")
		}); err != nil {
			t.Fatal(err)
		}
	}
	err := e.db.Update(func(tx *store.Tx) error {
		return seals.RecordUseTx(tx, e.clock.Now(), e.other, s.ID, sha256.Sum256(nil), "签章", "")
	})
	wantCode(t, err, certseal.EForbidden)
	var seqs []uint64
	cursor := ""
	for {
		page, next, err := e.reg.Uses(ctx, s.ID, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			seqs = append(seqs, u.Seq)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seqs) != 5 || seqs[0] != 5 || seqs[4] != 1 {
		t.Errorf("pages gave %v, want 5..1", seqs)
	}
	_, _, err = e.reg.Uses(ctx, "ES510802999999", "", 2)
	wantCode(t, err, certseal.ENotFound)
}

func TestRegistryCRL(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	a := e.create(t, e.lizhouSeal())
	n := e.lizhouSeal()
	n.Code = "5108020000002"
	b := e.create(t, n)
	empty, err := e.reg.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := x509.ParseRevocationList(empty); err != nil || len(l.RevokedCertificateEntries) != 0 {
		t.Fatalf("CRL before revocation: %v %+v", err, l)
	}
	e.clock.Set(regStart.Add(time.Minute))
	if _, err := e.reg.Revoke(ctx, e.admin, a.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	der, err := e.reg.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := e.reg.CA(ctx)
	if err := l.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if len(l.RevokedCertificateEntries) != 1 || l.RevokedCertificateEntries[0].SerialNumber.Text(16) != a.CertSerial {
		t.Errorf("CRL lists %+v, want only %s", l.RevokedCertificateEntries, a.CertSerial)
	}
	if got := l.RevokedCertificateEntries[0].RevocationTime; !got.Equal(regStart.Add(time.Minute)) {
		t.Errorf("revocation time %v", got)
	}
	for _, r := range l.RevokedCertificateEntries {
		if r.SerialNumber.Text(16) == b.CertSerial {
			t.Error("the CRL lists an active seal")
		}
	}
}

// TestKeysNeverInClear scans a backup of the database for every private key (PKCS#8 and the raw
// scalar) and the master key.
func TestKeysNeverInClear(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	g, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, regStart)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := e.reg.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	backup := e.backup(t)
	secrets := map[string][]byte{"master key": e.master, "master key (hex)": []byte(hex.EncodeToString(e.master))}
	for name, k := range map[string]any{"seal": g.Signer, "CA": ca.Signer} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name+" PKCS#8"] = der
		raw, err := k.(*ecdsa.PrivateKey).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		secrets[name+" scalar"] = raw
		sec1, _ := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
		secrets[name+" SEC 1"] = sec1
	}
	for name, secret := range secrets {
		if bytes.Contains(backup, secret) {
			t.Errorf("the backup holds the %s in clear", name)
		}
	}
	if !bytes.Contains(backup, ca.Cert.Raw) {
		t.Error("the backup does not hold the CA certificate: is the scan looking at the right data?")
	}
}

func TestWrongMasterKeyRegistry(t *testing.T) {
	e := newRegEnv(t)
	e.create(t, e.lizhouSeal())
	before := e.backup(t)
	other := make([]byte, seals.MasterKeySize)
	rand.Read(other)
	keys, _ := seals.NewKeyring(other)
	reg, err := seals.NewRegistry(e.db, keys, e.clock)
	if reg != nil || err == nil || !strings.Contains(err.Error(), "主密钥不正确") {
		t.Fatalf("wrong master key: got %v, %v; want 主密钥不正确", reg, err)
	}
	wantCode(t, err, certseal.EForbidden)
	if !bytes.Equal(e.backup(t), before) {
		t.Error("a refused start changed the database")
	}
	// The right key still opens everything.
	keys, _ = seals.NewKeyring(e.master)
	if _, err := seals.NewRegistry(e.db, keys, e.clock); err != nil {
		t.Fatal(err)
	}
}

func TestImportCA(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	own, err := seals.NewCA("广元市导入根证书", regStart.Add(-time.Hour), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(own.Signer)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	err = e.reg.ImportCA(ctx, e.lizhou, own.CertificatePEM(), keyPEM)
	wantCode(t, err, certseal.EForbidden)
	err = e.reg.ImportCA(ctx, e.admin, own.CertificatePEM(), []byte("not a key"))
	wantCode(t, err, certseal.EInvalid)
	if err := e.reg.ImportCA(ctx, e.admin, own.CertificatePEM(), keyPEM); err != nil {
		t.Fatal(err)
	}
	ca, err := e.reg.CA(ctx)
	if err != nil || !ca.Cert.Equal(own.Cert) {
		t.Fatalf("CA after import: %v", err)
	}
	s := e.create(t, e.lizhouSeal())
	cert, _ := x509.ParseCertificate(s.Certificate)
	if err := cert.CheckSignatureFrom(own.Cert); err != nil {
		t.Errorf("seal not issued by the imported CA: %v", err)
	}
	err = e.reg.ImportCA(ctx, e.admin, own.CertificatePEM(), keyPEM)
	wantCode(t, err, certseal.EConflict)
	// The CA survives a restart: a new registry over the same database opens it.
	keys, _ := seals.NewKeyring(e.master)
	reg2, err := seals.NewRegistry(e.db, keys, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	if ca2, err := reg2.CA(ctx); err != nil || !ca2.Cert.Equal(own.Cert) {
		t.Errorf("CA after restart: %v", err)
	}
}

func TestScanReplacesDrawing(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	pic, _, err := e.reg.Picture(ctx, s.ID)
	if err != nil || pic.IsScan() {
		t.Fatalf("drawing: %v", err)
	}
	png, err := pic.PNG(4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.reg.SetScan(ctx, e.admin, s.ID, []byte("not a png"))
	wantCode(t, err, certseal.EInvalid)
	_, err = e.reg.SetScan(ctx, e.lizhou, s.ID, png)
	wantCode(t, err, certseal.EForbidden)
	e.clock.Set(regStart.Add(time.Second))
	if s, err = e.reg.SetScan(ctx, e.admin, s.ID, png); err != nil || !s.HasScan {
		t.Fatalf("set scan: %v", err)
	}
	if pic, _, err = e.reg.Picture(ctx, s.ID); err != nil || !pic.IsScan() {
		t.Fatalf("scan: %v", err)
	}
	e.clock.Set(regStart.Add(2 * time.Second))
	if s, err = e.reg.ClearScan(ctx, e.admin, s.ID); err != nil || s.HasScan {
		t.Fatalf("clear scan: %v", err)
	}
	if pic, _, err = e.reg.Picture(ctx, s.ID); err != nil || pic.IsScan() {
		t.Fatalf("drawing again: %v", err)
	}
	_, err = e.reg.ClearScan(ctx, e.admin, s.ID)
	wantCode(t, err, certseal.ENotFound)
}

// TestValidateForeignSignature: a signature from another CA is neither trusted nor registered.
func TestValidateForeignSignature(t *testing.T) {
	e := newRegEnv(t)
	f := newFixture(t)
	signed, err := seals.SignPDF(gofpdfDoc(t), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	reps, err := e.reg.ValidateWithStatus(context.Background(), signed)
	if err != nil || len(reps) != 1 {
		t.Fatalf("%v %+v", err, reps)
	}
	if r := reps[0]; !r.Valid || r.Trusted || r.Registered || r.StatusNow != seals.StatusUnknown || len(r.Problems) == 0 {
		t.Errorf("foreign signature: %+v", r)
	}
	_, err = e.reg.ValidateWithStatus(context.Background(), []byte("not a pdf"))
	wantCode(t, err, certseal.EInvalid)
}

// TestConcurrentCreate registers seals from several goroutines: each gets its own sequence
// number (the key and certificate are made outside the transaction and remade when another
// registration took the number meanwhile).
func TestConcurrentCreate(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	if _, err := e.reg.CA(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			s := e.lizhouSeal()
			s.Code = "510802000010" + string(rune('0'+i))
			_, err := e.reg.Create(ctx, e.admin, s)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	items, _, err := e.reg.List(ctx, seals.SealFilter{}, "", 50)
	if err != nil || len(items) != n {
		t.Fatalf("%v: %d seals, want %d", err, len(items), n)
	}
	for i, s := range items {
		cert, _ := x509.ParseCertificate(s.Certificate)
		if want := fmt.Sprintf("ES510802%06d", i+1); s.ID != want || !strings.Contains(cert.Subject.String(), want) {
			t.Errorf("seal %d: id %s, certificate %s; want %s in both", i, s.ID, cert.Subject, want)
		}
	}
}

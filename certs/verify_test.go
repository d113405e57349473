package certs_test

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
	"certseal/seals"
	"certseal/templates"
)

// TestVerifyPDF: the verdict on a PDF for every case a verifier meets, directly on the service.
func TestVerifyPDF(t *testing.T) {
	op := func(name string) func(e *env, c certs.Certificate) {
		return func(e *env, c certs.Certificate) {
			r := certs.OperationRequest{Op: name, Reason: "依法办理"}
			if name == "transfer_out" {
				r.TargetOrgID = e.orgs["广元市昭化区行政审批局"]
			}
			e.operate(c.ID, r)
		}
	}
	cases := map[string]struct {
		issue   func(r *certs.IssueRequest)
		then    func(e *env, c certs.Certificate)
		file    func(e *env, c certs.Certificate, pdf []byte) []byte
		verdict string
		label   string
		found   bool // the verdict names the certificate
	}{
		"valid": {verdict: certs.VerdictValid, label: "有效", found: true},
		"modified one byte": {file: func(e *env, c certs.Certificate, pdf []byte) []byte {
			b := bytes.Clone(pdf)
			b[len(b)/3] ^= 0x01
			return b
		}, verdict: certs.VerdictModified, label: "文件已被改动"},
		"bytes appended": {file: func(e *env, c certs.Certificate, pdf []byte) []byte {
			return append(bytes.Clone(pdf), "\n% 追加的内容\n"...)
		}, verdict: certs.VerdictModified, label: "文件已被改动", found: true}, // found by its signed part
		// each %%EOF once cost a hash of the file up to it: 2 MB of them took minutes
		"many %%EOF appended": {file: func(e *env, c certs.Certificate, pdf []byte) []byte {
			return append(bytes.Clone(pdf), bytes.Repeat([]byte("%%EOF\n"), 2<<20/6)...)
		}, verdict: certs.VerdictModified, label: "文件已被改动", found: true},
		"not a PDF": {file: func(e *env, c certs.Certificate, pdf []byte) []byte { return []byte("这不是 PDF 文件") },
			verdict: certs.VerdictUnknown, label: "无法确认（非本系统签发）"},
		"unsigned": {file: func(e *env, c certs.Certificate, pdf []byte) []byte { return e.render(c) },
			verdict: certs.VerdictUnknown, label: "无法确认（非本系统签发）"},
		"signed with our seal, never issued": {file: func(e *env, c certs.Certificate, pdf []byte) []byte {
			return e.sign(e.render(c))
		}, verdict: certs.VerdictUnknown, label: "无法确认（非本系统签发）"},
		"revoked":     {then: op("revoke"), verdict: certs.VerdictRevoked, label: "已撤销或不再有效", found: true},
		"cancelled":   {then: op("cancel"), verdict: certs.VerdictRevoked, label: "已撤销或不再有效", found: true},
		"penalty":     {then: op("penalty_withdraw"), verdict: certs.VerdictRevoked, label: "已撤销或不再有效", found: true},
		"suspended":   {then: op("suspend"), verdict: certs.VerdictSuspended, label: "已暂扣", found: true},
		"transferred": {then: op("transfer_out"), verdict: certs.VerdictTransferred, label: "已办理转出", found: true},
		"reinstated": {then: func(e *env, c certs.Certificate) { op("suspend")(e, c); op("reinstate")(e, c) },
			verdict: certs.VerdictValid, label: "有效", found: true},
		"expired": {then: func(e *env, c certs.Certificate) { e.at(dayAfter(e.t, c.ValidTo)) },
			verdict: certs.VerdictExpired, label: "已过期失效", found: true},
		"expired, swept": {then: func(e *env, c certs.Certificate) {
			e.at(dayAfter(e.t, c.ValidTo))
			if _, err := e.svc.Sweep(ctx); err != nil {
				e.t.Fatal(err)
			}
		}, verdict: certs.VerdictExpired, label: "已过期失效", found: true},
		"superseded": {then: func(e *env, c certs.Certificate) {
			e.operate(c.ID, certs.OperationRequest{Op: "change", Reason: "变更监管人员", Values: map[string]string{"日常监督管理人员": "王小明"}, Serial: serial(90)})
		}, verdict: certs.VerdictSuperseded, label: "已由第2版取代", found: true},
		"not yet valid": {issue: func(r *certs.IssueRequest) { r.ValidFrom = "2026-06-01" },
			verdict: certs.VerdictNotYetValid, label: "未生效", found: true},
		"not yet valid, then valid": {issue: func(r *certs.IssueRequest) { r.ValidFrom = "2026-06-01" },
			then: func(e *env, c certs.Certificate) { e.at("2026-06-01") }, verdict: certs.VerdictValid, label: "有效", found: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			req := e.foodRequest(12, serial(12))
			if tc.issue != nil {
				tc.issue(&req)
			}
			c, _, err := e.svc.Issue(ctx, e.clerk, req, "")
			if err != nil {
				t.Fatal(err)
			}
			pdf := e.pdf(c.ID)
			if tc.then != nil {
				tc.then(e, c)
			}
			if tc.file != nil {
				pdf = tc.file(e, c, pdf)
			}
			before := e.snapshot()
			v, err := e.svc.VerifyPDF(ctx, pdf)
			if err != nil {
				t.Fatal(err)
			}
			if v.Verdict != tc.verdict || v.Label != tc.label || len(v.Reasons) == 0 {
				t.Errorf("verdict %s %s %q, want %s %s", v.Verdict, v.Label, v.Reasons, tc.verdict, tc.label)
			}
			if certs.VerdictLabel(v.Verdict) == "" {
				t.Errorf("verdict %q has no label", v.Verdict)
			}
			sum := sha256.Sum256(pdf)
			if v.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("sha256 %s", v.SHA256)
			}
			if tc.found != (v.Certificate != nil && v.Certificate.Identifier == c.Identifier) {
				t.Errorf("certificate in the verdict: %+v, want found %v", v.Certificate, tc.found)
			}
			if !bytes.Equal(before, e.snapshot()) {
				t.Error("verification wrote to the database")
			}
		})
	}
}

// render returns the certificate's page rendered again, unsigned.
func (e *env) render(c certs.Certificate) []byte {
	e.t.Helper()
	tpl, err := e.svc.Templates.Template(ctx, c.TemplateID, c.TemplateVersion)
	if err != nil {
		e.t.Fatal(err)
	}
	pdf, err := renderer.Render(tpl, templates.Document{Values: c.Values, LicenceNumber: c.LicenceNumber, QRPayload: c.VerifyURL,
		Mode: templates.Full, Created: e.clock.Now(), Title: c.Name})
	if err != nil {
		e.t.Fatal(err)
	}
	return pdf
}

// sign signs a PDF with 利州区's seal, as the service does, without issuing it.
func (e *env) sign(pdf []byte) []byte {
	e.t.Helper()
	g, err := e.reg.SignerFor(ctx, e.clerk, e.seal, "11100000000013338W032", e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := seals.SignPDF(pdf, g.Options(1, [4]float64{380, 80, 500, 200}, "测试签章", e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestLookup: the public view by identifier, by licence number and by record id; unknown and
// malformed references; a natural person's name and ID number masked.
func TestLookup(t *testing.T) {
	e := newEnv(t)
	c := e.issue(13, 13)
	for name, ref := range map[string]string{"identifier": c.Identifier, "licence number": c.LicenceNumber, "id": c.ID, "spaces": "  " + c.LicenceNumber + " "} {
		t.Run(name, func(t *testing.T) {
			v, err := e.svc.Lookup(ctx, ref)
			if err != nil || v.Identifier != c.Identifier || v.Status != certs.StatusValid || v.StatusLabel != "有效" || v.HolderName != c.Holder.Name ||
				v.HolderCode != c.Holder.Code || v.IssuerName != "广元市利州区行政审批局" || v.SealID != e.seal || !strings.HasPrefix(v.CheckedAt, "2026-03-02 ") {
				t.Errorf("%+v %v", v, err)
			}
		})
	}
	for name, tc := range map[string]struct{ ref, code string }{
		"unknown number":       {"JY25108020099999", certseal.ENotFound},
		"unknown identifier":   {unknownVersion(t, c.Identifier), certseal.ENotFound},
		"malformed identifier": {"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.G", certseal.EInvalid},
		"empty":                {"  ", certseal.EInvalid},
		"too long":             {strings.Repeat("1", 121), certseal.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Lookup(ctx, tc.ref)
			wantCode(t, err, tc.code)
		})
	}

	// a natural person: name and citizen ID masked in the public view, in full for the issuer
	req := e.foodRequest(14, serial(14))
	req.Holder = certs.Holder{Name: "欧阳娜娜", Code: idCard("51080219900101123"), CodeType: certs.CodeIDCard}
	delete(req.Values, "经营者名称")
	delete(req.Values, "统一社会信用代码")
	p, _, err := e.svc.Issue(ctx, e.clerk, req, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.Lookup(ctx, p.Identifier)
	if err != nil || v.HolderName != "欧***" || v.HolderCode != p.Holder.Code[:6]+"********"+p.Holder.Code[14:] || v.HolderCodeType != certs.CodeIDCard {
		t.Errorf("public view of a natural person: %q %q %v", v.HolderName, v.HolderCode, err)
	}
	if got := e.get(p.ID); got.Holder.Name != "欧阳娜娜" {
		t.Errorf("the issuer's view: %q", got.Holder.Name)
	}
}

// unknownVersion returns a well-formed identifier of version 9 of the certificate, which does
// not exist.
func unknownVersion(t *testing.T, identifier string) string {
	id, err := certs.ParseIdentifier(identifier)
	if err != nil {
		t.Fatal(err)
	}
	id.Version = 9
	return id.String()
}

// idCard completes 17 digits with the GB 11643 check character.
func idCard(s string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(s[i]-'0') * w[i]
	}
	return s + string("10X98765432"[sum%11])
}

// TestStatusList: the list sets the revocation bit of revoked, cancelled and superseded
// certificates and the suspension bit of suspended ones, at their status_list_index, and leaves
// valid and not-yet-valid ones clear; its signature verifies with the root CA's public key over
// the list as served without its proof.
func TestStatusList(t *testing.T) {
	e := newEnv(t)
	valid := e.issue(20, 20)
	suspended := e.issue(21, 21)
	e.operate(suspended.ID, certs.OperationRequest{Op: "suspend", Reason: "暂扣待查"})
	revoked := e.issue(22, 22)
	e.operate(revoked.ID, certs.OperationRequest{Op: "revoke", Reason: "撤销许可"})
	changed := e.issue(23, 23)
	nv := e.operate(changed.ID, certs.OperationRequest{Op: "change", Reason: "变更", Values: map[string]string{"日常监督管理人员": "王小明"}, Serial: serial(24)})
	pending, _, err := e.svc.Issue(ctx, e.clerk, func() certs.IssueRequest { r := e.foodRequest(24, serial(25)); r.ValidFrom = "2026-06-01"; return r }(), "")
	if err != nil {
		t.Fatal(err)
	}

	l, err := e.svc.StatusList(ctx, e.reg, "广元市政务服务和公共资源交易中心")
	if err != nil {
		t.Fatal(err)
	}
	if l.Type != "BitstringStatusListCredential" || l.Issuer != "广元市政务服务和公共资源交易中心" || !l.ValidUntil.After(l.ValidFrom) || len(l.Lists) != 2 ||
		l.Lists[0].Purpose != "revocation" || l.Lists[1].Purpose != "suspension" || l.Size < nv.StatusIndex {
		t.Fatalf("status list: %+v", l)
	}
	bits := func(i int) []byte {
		raw, err := base64.RawURLEncoding.DecodeString(l.Lists[i].EncodedList)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 16*1024 {
			t.Errorf("list %s has %d bytes, want at least 16 KiB", l.Lists[i].Purpose, len(b))
		}
		return b
	}
	rev, sus := bits(0), bits(1)
	set := func(b []byte, c certs.Certificate) bool { return b[c.StatusIndex/8]&(0x80>>(c.StatusIndex%8)) != 0 }
	for name, tc := range map[string]struct {
		c        certs.Certificate
		rev, sus bool
	}{
		"valid": {valid, false, false}, "suspended": {suspended, false, true}, "revoked": {revoked, true, false},
		"superseded": {changed, true, false}, "new version": {nv, false, false}, "not yet valid": {pending, false, false},
	} {
		if set(rev, tc.c) != tc.rev || set(sus, tc.c) != tc.sus {
			t.Errorf("%s (index %d): revocation bit %v, suspension bit %v; want %v, %v", name, tc.c.StatusIndex, set(rev, tc.c), set(sus, tc.c), tc.rev, tc.sus)
		}
	}
	n := 0
	for _, b := range append(append([]byte{}, rev...), sus...) {
		for ; b != 0; b &= b - 1 {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d bits set, want 3", n)
	}

	// the signature, as an offline verifier checks it: over the served JSON without "proof"
	served, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(served, []byte(`,"proof":`))
	if i < 0 {
		t.Fatalf("no proof in %s", served)
	}
	signed := append(served[:i:i], '}')
	sig, err := base64.RawURLEncoding.DecodeString(l.Proof.Signature)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(l.Proof.SignerPEM))
	if block == nil {
		t.Fatal("no signer certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := e.reg.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(ca.Cert) {
		t.Error("the list is not signed by the root CA")
	}
	pub := ca.Cert.PublicKey.(*ecdsa.PublicKey)
	sum := sha256.Sum256(signed)
	if len(sig) != 64 {
		t.Fatalf("an ES256 signature of %d bytes, want 64 (R‖S)", len(sig))
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, sum[:], r, s) {
		t.Fatalf("the signature does not verify with the CA key over %s", signed)
	}
	tampered := bytes.Replace(signed, []byte(`"issuer":"`), []byte(`"issuer":"X`), 1)
	sum = sha256.Sum256(tampered)
	if ecdsa.Verify(pub, sum[:], r, s) {
		t.Error("the signature verifies over a changed list")
	}
}

// TestStatusListES256: the proof says "alg":"ES256", which JOSE (RFC 7518 §3.4) defines as the
// 64-byte R||S form of the ECDSA P-256 signature; a verifier that follows the label must be able
// to check it.
func TestStatusListES256(t *testing.T) {
	e := newEnv(t)
	l, err := e.svc.StatusList(ctx, e.reg, "广元市政务服务和公共资源交易中心")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(l.Proof.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if l.Proof.Algorithm == "ES256" && len(sig) != 64 {
		t.Errorf("an ES256 signature of %d bytes, want 64 (R||S)", len(sig))
	}
}

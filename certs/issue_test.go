package certs_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
	"certseal/internal/audit"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/inventory"
)

// TestIssue issues one food licence on a blank form directly on the service and checks
// everything the one write transaction stores: the record, its PDF and hash, the used blank
// form, the seal use, the history, the audit event and the outbox event.
func TestIssue(t *testing.T) {
	e := newEnv(t)
	req := e.foodRequest(0, serial(7))
	c, replayed, err := e.svc.Issue(ctx, e.clerk, req, "")
	if err != nil || replayed {
		t.Fatalf("issue: %v (replayed %v)", err, replayed)
	}
	id, err := certs.ParseIdentifier(c.Identifier)
	if err != nil {
		t.Fatalf("identifier %s: %v", c.Identifier, err)
	}
	if id.TypeCode != demo.TypeFood || id.Version != 1 || c.Version != 1 || id.IssuerCode != c.IssuerCode {
		t.Errorf("identifier %+v of certificate %+v", id, c)
	}
	kind := ""
	for prefix, k := range map[string]string{"食品销售经营者": "1", "餐饮服务经营者": "2", "单位食堂": "3"} {
		if strings.HasPrefix(req.Values["主体业态"], prefix) {
			kind = k
		}
	}
	if kind == "" || !regexp.MustCompile(`^JY`+kind+`510802\d{6}\d$`).MatchString(c.LicenceNumber) {
		t.Errorf("licence number %q (主体业态 %s), want JY%s, 510802 and six digits with a check digit", c.LicenceNumber, req.Values["主体业态"], kind)
	}
	checks := map[string][2]string{
		"status":      {string(c.Status), string(certs.StatusValid)},
		"issuer":      {c.IssuerOrgID, e.orgs["广元市利州区行政审批局"]},
		"issuer name": {c.IssuerName, "广元市利州区行政审批局"},
		"serial":      {c.Serial, serial(7)},
		"seal":        {c.SealID, e.seal},
		"issue date":  {c.IssueDate, "2026-03-02"},
		"valid from":  {c.ValidFrom, "2026-03-02"},
		"valid to":    {c.ValidTo, req.ValidTo},
		"holder":      {c.Holder.Name, req.Holder.Name},
		"发证机关":        {c.Values["发证机关"], "广元市利州区行政审批局"},
		"发证日期":        {c.Values["发证日期"], "2026年3月2日"},
		"issued by":   {c.IssuedBy, "lizhou-clerk"},
		"verify url":  {c.VerifyURL, "https://zwfw.example.gov.cn/verify/" + c.Identifier},
		"template":    {c.TemplateID, "food-business-licence"},
	}
	for name, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s: %q, want %q", name, v[0], v[1])
		}
	}
	if _, ok := c.Values["许可证编号"]; ok {
		t.Errorf("the licence number field is stored among the values: %v", c.Values)
	}

	pdf := e.pdf(c.ID)
	sum := sha256.Sum256(pdf)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || hex.EncodeToString(sum[:]) != c.PDFSHA256 || len(pdf) != c.PDFSize {
		t.Errorf("stored PDF: %d bytes, SHA-256 %x; record says %d bytes, %s", len(pdf), sum, c.PDFSize, c.PDFSHA256)
	}
	if got := e.get(c.ID); got.Identifier != c.Identifier || got.PDFSHA256 != c.PDFSHA256 || got.StatusLabel != "有效" {
		t.Errorf("read back: %+v", got)
	}
	if holder, st := e.blank(7); holder != e.clerk.OrgID || st != inventory.Used {
		t.Errorf("blank form %s: %s %s, want used by 利州区", serial(7), holder, st)
	}
	if holder, st := e.blank(8); holder != e.clerk.OrgID || st != inventory.InStock {
		t.Errorf("the next blank form %s: %s %s, want still in stock", serial(8), holder, st)
	}
	uses, _, err := e.reg.Uses(ctx, e.seal, "", 10)
	if err != nil || len(uses) != 1 || uses[0].DocSHA256 != c.PDFSHA256 || uses[0].ObjectID != "certificate/"+c.ID || uses[0].Username != "lizhou-clerk" {
		t.Errorf("seal uses: %+v %v", uses, err)
	}
	if h := e.history(c.ID); len(h) != 1 || h[0].Op != "issue" || h[0].Code != "01" || h[0].To != certs.StatusValid || h[0].Serial != serial(7) || h[0].By != "lizhou-clerk" {
		t.Errorf("history: %+v", h)
	}
	ev := e.events()
	if len(ev) != 1 || ev[0].Type != "certificate.issue" || ev[0].CertificateID != c.ID || ev[0].Status != certs.StatusValid || ev[0].OperationCode != "01" {
		t.Errorf("outbox: %+v", ev)
	}
	var actions []string
	if err := e.db.View(func(tx *store.Tx) error {
		return tx.Scan(audit.Events, nil, nil, func(_, v []byte) error {
			if bytes.Contains(v, []byte(`"certificate/`+c.ID+`"`)) {
				actions = append(actions, string(v))
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(actions) != 1 || !strings.Contains(actions[0], "certificate.issue") || !strings.Contains(actions[0], c.PDFSHA256) {
		t.Errorf("audit events of the certificate: %q", actions)
	}
	if v, err := e.svc.VerifyPDF(ctx, pdf); err != nil || v.Verdict != certs.VerdictValid {
		t.Errorf("verify the issued PDF: %+v %v", v, err)
	}

	// the next certificate gets the next number and identifier serial
	d := e.issue(1, 8)
	if d.LicenceNumber == c.LicenceNumber || d.Identifier == c.Identifier || d.StatusIndex == c.StatusIndex {
		t.Errorf("two certificates share a number, identifier or status index: %s %s %d", d.LicenceNumber, d.Identifier, d.StatusIndex)
	}
}

// TestIssueRefusals: every refusal has its code and a Chinese message, and writes nothing: the
// whole database is byte for byte as before.
func TestIssueRefusals(t *testing.T) {
	type mod = func(e *env, r *certs.IssueRequest)
	cases := map[string]struct {
		setup func(e *env)
		actor func(e *env) certseal.Actor
		req   mod
		key   string
		code  string
	}{
		"unbound item":        {req: func(e *env, r *certs.IssueRequest) { r.ItemCode = "000113007000" }, code: certseal.EInvalid},
		"unknown item":        {req: func(e *env, r *certs.IssueRequest) { r.ItemCode = "000199999000" }, code: certseal.ENotFound},
		"unknown type":        {req: func(e *env, r *certs.IssueRequest) { r.TypeCode = "11100000000013338W999" }, code: certseal.ENotFound},
		"no type":             {req: func(e *env, r *certs.IssueRequest) { r.TypeCode = "" }, code: certseal.EInvalid},
		"no item":             {req: func(e *env, r *certs.IssueRequest) { r.ItemCode = "" }, code: certseal.EInvalid},
		"no seal":             {req: func(e *env, r *certs.IssueRequest) { r.SealID = "" }, code: certseal.EInvalid},
		"unknown seal":        {req: func(e *env, r *certs.IssueRequest) { r.SealID = "ES510802999999" }, code: certseal.ENotFound},
		"another bureau seal": {req: func(e *env, r *certs.IssueRequest) { r.SealID = e.otherSeal }, code: certseal.EForbidden},
		"suspended seal": {setup: func(e *env) {
			if _, err := e.reg.Suspend(ctx, e.admin, e.seal, "印章送修，暂停使用"); err != nil {
				e.t.Fatal(err)
			}
		}, code: certseal.EConflict},
		"revoked seal": {setup: func(e *env) {
			if _, err := e.reg.Revoke(ctx, e.admin, e.seal, "印章遗失，声明作废"); err != nil {
				e.t.Fatal(err)
			}
		}, code: certseal.EConflict},
		"serial of another bureau":   {req: func(e *env, r *certs.IssueRequest) { r.Serial = serial(zhaohuaFirst + 5) }, code: certseal.EConflict},
		"serial still at the city":   {req: func(e *env, r *certs.IssueRequest) { r.Serial = serial(500) }, code: certseal.EConflict},
		"serial never received":      {req: func(e *env, r *certs.IssueRequest) { r.Serial = "SC99999999" }, code: certseal.ENotFound},
		"serial with wrong prefix":   {req: func(e *env, r *certs.IssueRequest) { r.Serial = "XX00000010" }, code: certseal.EInvalid},
		"serial too long":            {req: func(e *env, r *certs.IssueRequest) { r.Serial = "SC" + strings.Repeat("0", 40) }, code: certseal.EInvalid},
		"no serial for a paper type": {req: func(e *env, r *certs.IssueRequest) { r.Serial = "" }, code: certseal.EInvalid},
		"serial used twice": {setup: func(e *env) { e.issue(3, 10) },
			req: func(e *env, r *certs.IssueRequest) { r.Serial = serial(10) }, code: certseal.EConflict},
		"serial voided": {setup: func(e *env) {
			if _, err := e.inv.Void(ctx, e.clerk, inventory.Void{TypeCode: demo.TypeFood, Ranges: []inventory.SerialRange{{First: serial(10), Last: serial(10)}}, Reason: "打印错位作废"}); err != nil {
				e.t.Fatal(err)
			}
		}, req: func(e *env, r *certs.IssueRequest) { r.Serial = serial(10) }, code: certseal.EConflict},
		"serial for an electronic type": {req: func(e *env, r *certs.IssueRequest) {
			r.TypeCode, r.ItemCode, r.Serial = demo.TypeBusiness, "000117002000", serial(10)
		}, code: certseal.EInvalid},
		"bad holder code":      {req: func(e *env, r *certs.IssueRequest) { r.Holder.Code = "91510802AA191BG790" }, code: certseal.EInvalid},
		"bad holder code type": {req: func(e *env, r *certs.IssueRequest) { r.Holder.CodeType = "002" }, code: certseal.EInvalid},
		"no holder name":       {req: func(e *env, r *certs.IssueRequest) { r.Holder.Name = " " }, code: certseal.EInvalid},
		"validity too long":    {req: func(e *env, r *certs.IssueRequest) { r.ValidTo = "2040-01-01" }, code: certseal.EInvalid},
		"validity too short":   {req: func(e *env, r *certs.IssueRequest) { r.ValidTo = "2026-06-01" }, code: certseal.EInvalid},
		"validity in the past": {req: func(e *env, r *certs.IssueRequest) { r.ValidTo = "2025-01-01" }, code: certseal.EInvalid},
		"end before start":     {req: func(e *env, r *certs.IssueRequest) { r.ValidFrom = "2028-01-01"; r.ValidTo = "2027-12-31" }, code: certseal.EInvalid},
		"no end for a term":    {req: func(e *env, r *certs.IssueRequest) { r.ValidTo = "" }, code: certseal.EInvalid},
		"not a date":           {req: func(e *env, r *certs.IssueRequest) { r.ValidTo = "2030/01/01" }, code: certseal.EInvalid},
		"missing field":        {req: func(e *env, r *certs.IssueRequest) { delete(r.Values, "经营项目") }, code: certseal.EInvalid},
		"unknown field":        {req: func(e *env, r *certs.IssueRequest) { r.Values["颜色"] = "红" }, code: certseal.EInvalid},
		"issuer given":         {req: func(e *env, r *certs.IssueRequest) { r.Values["发证机关"] = "别的机关" }, code: certseal.EInvalid},
		"issue date given":     {req: func(e *env, r *certs.IssueRequest) { r.Values["发证日期"] = "2020年1月1日" }, code: certseal.EInvalid},
		"licence number given": {req: func(e *env, r *certs.IssueRequest) { r.Values["许可证编号"] = "JY1" }, code: certseal.EInvalid},
		"outside the font":     {req: func(e *env, r *certs.IssueRequest) { r.Values["住所"] = "广元市𠀀路1号" }, code: certseal.EInvalid},
		"value too long":       {req: func(e *env, r *certs.IssueRequest) { r.Values["住所"] = strings.Repeat("路", certs.MaxValueLen+1) }, code: certseal.EInvalid},
		"not UTF-8":            {req: func(e *env, r *certs.IssueRequest) { r.Values["住所"] = "\xff\xfe" }, code: certseal.EInvalid},
		"empty field name":     {req: func(e *env, r *certs.IssueRequest) { r.Values[""] = "x" }, code: certseal.EInvalid},
		"field name too long":  {req: func(e *env, r *certs.IssueRequest) { r.Values[strings.Repeat("字", certs.MaxFieldName+1)] = "x" }, code: certseal.EInvalid},
		"too many fields":      {req: func(e *env, r *certs.IssueRequest) { fillN(r.Values, certs.MaxValues+1) }, code: certseal.EInvalid},
		"too many extensions": {req: func(e *env, r *certs.IssueRequest) {
			r.Extension = map[string]string{}
			fillN(r.Extension, certs.MaxExtension+1)
		}, code: certseal.EInvalid},
		"idempotency key too long": {key: strings.Repeat("k", 201), code: certseal.EInvalid},
		"auditor":                  {actor: func(e *env) certseal.Actor { return e.auditor }, code: certseal.EForbidden},
		"administrator":            {actor: func(e *env) certseal.Actor { return e.admin }, code: certseal.EForbidden},
		"city department clerk": {actor: func(e *env) certseal.Actor {
			return certseal.Actor{UserID: "u-x", Username: "x", OrgID: e.orgs["广元市市场监督管理局"], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleClerk}
		}, code: certseal.EForbidden},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			actor := e.clerk
			if tc.actor != nil {
				actor = tc.actor(e)
			}
			req := e.foodRequest(5, serial(20))
			if tc.req != nil {
				tc.req(e, &req)
			}
			before := e.snapshot()
			c, replayed, err := e.svc.Issue(ctx, actor, req, tc.key)
			wantCode(t, err, tc.code)
			if c.ID != "" || replayed {
				t.Errorf("a refusal returned a certificate: %+v (replayed %v)", c, replayed)
			}
			if !bytes.Equal(before, e.snapshot()) {
				t.Error("a refused issue wrote to the database")
			}
		})
	}
}

// fillN adds n fields to m.
func fillN(m map[string]string, n int) {
	for i := range n {
		m["附加字段"+strings.Repeat("甲", i%40)+string(rune('A'+i%26))+string(rune('a'+i/26))] = "x"
	}
}

// TestIssueIdempotent: a retry under the same idempotency key returns the first certificate
// (replayed) and writes nothing; a different request under the key is a conflict and writes
// nothing; keys are the user's own; a refused request does not use up its key.
func TestIssueIdempotent(t *testing.T) {
	e := newEnv(t)
	const key = "window-3-20260302-0001"
	req := e.foodRequest(3, serial(30))
	first, replayed, err := e.svc.Issue(ctx, e.clerk, req, key)
	if err != nil || replayed {
		t.Fatalf("first: %v (replayed %v)", err, replayed)
	}
	before := e.snapshot()
	again, replayed, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(3, serial(30)), key)
	if err != nil || !replayed || again.ID != first.ID || again.Identifier != first.Identifier || again.PDFSHA256 != first.PDFSHA256 {
		t.Fatalf("retry: %v (replayed %v), %s, want %s", err, replayed, again.ID, first.ID)
	}
	if !bytes.Equal(before, e.snapshot()) {
		t.Error("a replayed request wrote to the database")
	}

	changed := e.foodRequest(3, serial(31))
	changed.Values["投诉举报电话"] = "0839-12345"
	cases := map[string]certs.IssueRequest{"other serial": e.foodRequest(3, serial(31)), "other value": changed}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			before := e.snapshot()
			c, replayed, err := e.svc.Issue(ctx, e.clerk, r, key)
			wantCode(t, err, certseal.EConflict)
			if c.ID != "" || replayed || !bytes.Equal(before, e.snapshot()) {
				t.Errorf("a different request under a used key: %+v replayed %v; wrote: %v", c, replayed, !bytes.Equal(before, e.snapshot()))
			}
		})
	}

	// another user's key of the same name is another key
	mine, replayed, err := e.svc.Issue(ctx, e.officer, e.foodRequest(4, serial(32)), key)
	if err != nil || replayed || mine.ID == first.ID {
		t.Fatalf("the officer's request under the same key name: %v (replayed %v) %s", err, replayed, mine.ID)
	}

	// a refused request leaves its key unused: the corrected request is issued under it
	bad := e.foodRequest(6, serial(33))
	delete(bad.Values, "经营项目")
	if _, _, err := e.svc.Issue(ctx, e.clerk, bad, "window-3-20260302-0002"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("refused request: %v", err)
	}
	if c, replayed, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(6, serial(33)), "window-3-20260302-0002"); err != nil || replayed || c.ID == "" {
		t.Fatalf("the corrected request under the key of a refused one: %v (replayed %v)", err, replayed)
	}
	var n int
	list, _, err := e.svc.List(ctx, e.admin, certs.Filter{}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	n = len(list)
	if n != 3 {
		t.Errorf("%d certificates, want 3 (first, the officer's, the corrected one)", n)
	}
}

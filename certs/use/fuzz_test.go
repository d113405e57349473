package use_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/certs/use"
	"certseal/seals"
)

// FuzzRequest feeds arbitrary use requests to Normalise and, for an accepted one, draws its
// purpose stamp: nothing panics, an accepted request has a 6-digit code or none, a business
// serial of the allowed characters, a purpose of at most MaxPurposeLen characters and a copy
// date within MaxCopyDays; a stamp either draws or fails with a Chinese EInvalid message.
func FuzzRequest(f *testing.F) {
	f.Add("JY15108020000001", "", "", "000117002000", "BANK-2026-0001", "开户", "123456", "2026-12-31")
	f.Add("", "91510800MA6C56789P", "11100000000013338W011", "000117001001", "a/b.c_d-1", "贷款审批", "", "")
	f.Add("x", "", "", "1", "办件", "\x00", "12345", "2026-02-30")
	f.Add(strings.Repeat("9", 130), "", "", "", "", strings.Repeat("长", 41), "abcdef", "9999-99-99")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)
	f.Fuzz(func(t *testing.T, ref, holder, typ, item, serial, purpose, code, until string) {
		r := use.Request{Ref: ref, HolderCode: holder, TypeCode: typ, ItemCode: item, BusinessSerial: serial, Purpose: purpose, ConsentCode: code, ValidUntil: until}
		if err := r.Normalise(now); err != nil {
			if certseal.ErrorCode(err) == certseal.EInternal {
				t.Fatalf("an input error is not a stable code: %v", err)
			}
			return
		}
		if r.ConsentCode != "" && !use.ValidCode(r.ConsentCode) {
			t.Fatalf("accepted code %q", r.ConsentCode)
		}
		if utf8.RuneCountInString(r.Purpose) > use.MaxPurposeLen || r.Purpose == "" || len(r.BusinessSerial) > use.MaxSerialLen {
			t.Fatalf("accepted purpose %q serial %q", r.Purpose, r.BusinessSerial)
		}
		last, err := time.ParseInLocation("2006-01-02", r.ValidUntil, certseal.China)
		if err != nil || last.After(now.AddDate(0, 0, use.MaxCopyDays)) {
			t.Fatalf("accepted copy date %q", r.ValidUntil)
		}
		u := use.Use{OrgName: "广元示范银行股份有限公司", Purpose: r.Purpose, BusinessSerial: r.BusinessSerial, ValidUntil: r.ValidUntil}
		lines := use.StampLines(&u, 7, "广元市政务服务和公共资源交易中心", now)
		if _, err := seals.DrawBanner(lines, 4.2); err != nil && certseal.ErrorCode(err) != certseal.EInvalid {
			t.Fatalf("stamp %q: %v", lines, err)
		}
	})
}

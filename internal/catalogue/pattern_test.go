package catalogue_test

import (
	"context"
	"strings"
	"testing"

	"certseal"
	"certseal/internal/catalogue"
)

// foodPattern is the national 食品经营许可证 number: JY, 主体业态, area, sequence, check digit.
const foodPattern = "JY{field:主体业态:食品销售经营者=1,餐饮服务经营者=2,单位食堂=3}{area}{seq:6}{check:iso7064-mod11-10}"

// TestCreateTypeRefusesBadNumberPattern: a licence type with a number pattern that cannot make
// numbers is refused when it is created (and when it is changed), with a Chinese message.
func TestCreateTypeRefusesBadNumberPattern(t *testing.T) {
	db := demoDB(t)
	s := &catalogue.Service{DB: db, Clock: certseal.SystemClock{}}
	admin := certseal.Actor{UserID: "1", Username: "admin", Role: certseal.RoleAdmin}
	base := catalogue.LicenceType{Code: "11100000000013338W099", Name: "测试证照", DefinerName: "国家市场监督管理总局",
		HolderKind: catalogue.HolderAny, Channel: catalogue.ChannelElectronic}
	cases := []struct{ name, pattern, want string }{
		{"no sequence", "JY{area}", "{seq:N}"},
		{"two sequences", "{seq:4}{seq:4}", "{seq:N}"},
		{"sequence width 0", "{seq:0}", "1至12"},
		{"sequence width 13", "{seq:13}", "1至12"},
		{"sequence width not a number", "{seq:x}", "1至12"},
		{"unknown placeholder", "{area}{colour}{seq:6}", "{colour}"},
		{"unclosed brace", "{area}{seq:6", "}"},
		{"stray closing brace", "JY}{seq:6}", "}"},
		{"field without codes", "{field:主体业态}{seq:6}", "主体业态"},
		{"field without a name", "{field::a=1}{seq:6}", "字段"},
		{"field code not a digit or letter", "{field:主体业态:食品销售经营者=-}{seq:6}", "食品销售经营者"},
		{"field codes of different widths", "{field:主体业态:食品销售经营者=1,单位食堂=22}{seq:6}", "位数"},
		{"field prefix twice", "{field:主体业态:单位食堂=1,单位食堂=2}{seq:6}", "单位食堂"},
		{"field mapping without =", "{field:主体业态:单位食堂}{seq:6}", "="},
		{"unknown check algorithm", "{seq:6}{check:md5}", "md5"},
		{"check before the sequence", "{check:iso7064-mod11-10}{seq:6}", "{seq:N}"},
		{"two check digits", "{seq:6}{check:iso7064-mod11-10}{check:iso7064-mod11-10}", "校验"},
		{"too long", strings.Repeat("证", 201) + "{seq:6}", "200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ty := base
			ty.NumberPattern = c.pattern
			_, err := s.CreateType(context.Background(), admin, ty)
			if certseal.ErrorCode(err) != certseal.EInvalid || !strings.Contains(certseal.ErrorMessage(err), c.want) {
				t.Fatalf("pattern %q: %v, want invalid_argument mentioning %q", c.pattern, err, c.want)
			}
			if !strings.ContainsFunc(certseal.ErrorMessage(err), func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
				t.Errorf("message %q is not in Chinese", certseal.ErrorMessage(err))
			}
		})
	}
	for _, good := range []string{foodPattern, "{area}{year}{seq:4}0101", "川交运管许可广字{area}{seq:6}号", ""} {
		ty := base
		ty.NumberPattern = good
		if err := ty.Validate(); err != nil {
			t.Errorf("pattern %q refused: %v", good, err)
		}
	}
	ty := base
	ty.NumberPattern = foodPattern
	if _, err := s.CreateType(context.Background(), admin, ty); err != nil {
		t.Fatal(err)
	}
	bad := "{area}"
	if _, err := s.UpdateType(context.Background(), admin, ty.Code, catalogue.TypePatch{NumberPattern: &bad}); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("update to a pattern without a sequence: %v", err)
	}
}

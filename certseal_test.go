package certseal_test

import (
	"errors"
	"testing"

	"certseal"
)

func TestCheckUSCC(t *testing.T) {
	tests := map[string]struct {
		in string
		ok bool
	}{
		"fixture":           {"91510802AA191BG798", true},
		"real identifier":   {"11100000000013338W", true},
		"wrong check":       {"91510802AA191BG797", false},
		"letter I":          {"91510802AA191BI798", false},
		"short":             {"91510802AA191BG79", false},
		"area not digits":   {"9151080XAA191BG798", false},
		"lower case":        {"91510802aa191bg798", false},
		"made by MakeUSCC":  {certseal.MakeUSCC("12510800MB1500001"), true},
		"seventeen + space": {"91510802AA191BG79 ", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := certseal.CheckUSCC(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckUSCC(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && certseal.ErrorCode(err) != certseal.EInvalid {
				t.Errorf("code %s", certseal.ErrorCode(err))
			}
		})
	}
}

func TestOrgValidate(t *testing.T) {
	good := certseal.Org{Name: " 利州区行政审批局 ", Kind: certseal.KindCountyBureau, USCC: "91510802AA191BG798", AreaCode: "510802"}
	if err := good.Validate(); err != nil || good.Name != "利州区行政审批局" {
		t.Fatalf("good org: %v %q", err, good.Name)
	}
	for name, o := range map[string]certseal.Org{
		"no name":    {Kind: certseal.KindPrinter, USCC: "91510802AA191BG798"},
		"bad kind":   {Name: "甲", Kind: "bank", USCC: "91510802AA191BG798"},
		"bad area":   {Name: "甲", Kind: certseal.KindPrinter, USCC: "91510802AA191BG798", AreaCode: "5108"},
		"big offset": {Name: "甲", Kind: certseal.KindPrinter, USCC: "91510802AA191BG798", PrintOffsetX: 25},
		"bad uscc":   {Name: "甲", Kind: certseal.KindPrinter, USCC: "91510802AA191BG797"},
	} {
		if err := o.Validate(); certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRoleFits(t *testing.T) {
	if !certseal.RoleFits(certseal.RoleClerk, certseal.KindCountyBureau) || certseal.RoleFits(certseal.RoleClerk, certseal.KindCityCenter) ||
		!certseal.RoleFits(certseal.RoleAdmin, certseal.KindCityCenter) || certseal.RoleFits(certseal.RoleDeptOfficer, certseal.KindCountyBureau) {
		t.Fatal("role table of organisations is wrong")
	}
}

func TestErrorHelpers(t *testing.T) {
	e := certseal.Errorf(certseal.EConflict, "空白证照 %s 已使用", "SC00000001").WithDetail("serial", "SC00000001")
	wrapped := errors.Join(errors.New("context"), e)
	if certseal.ErrorCode(wrapped) != certseal.EConflict || certseal.ErrorMessage(wrapped) != "空白证照 SC00000001 已使用" {
		t.Fatalf("%s / %s", certseal.ErrorCode(wrapped), certseal.ErrorMessage(wrapped))
	}
	if certseal.ErrorCode(errors.New("disk")) != certseal.EInternal || certseal.ErrorCode(nil) != "" {
		t.Fatal("plain errors are internal; nil has no code")
	}
	if e.Detail["serial"] != "SC00000001" {
		t.Fatal("detail lost")
	}
}

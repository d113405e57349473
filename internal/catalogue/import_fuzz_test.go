package catalogue_test

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/internal/catalogue"
)

// checkImport asserts what ParseImport promises: an import within the limits whose every entry
// is valid, or an invalid_argument / payload_too_large error with a message.
func checkImport(t *testing.T, im *catalogue.Import, err error) {
	t.Helper()
	if err != nil {
		if c := certseal.ErrorCode(err); (c != certseal.EInvalid && c != certseal.ETooLarge) || certseal.ErrorMessage(err) == "" {
			t.Fatalf("error %v, want invalid_argument or payload_too_large with a message", err)
		}
		return
	}
	n := len(im.Items) + len(im.Types)
	if n == 0 || n > catalogue.MaxImportEntries || len(im.SHA256) != 64 {
		t.Fatalf("import with %d entries, digest %q", n, im.SHA256)
	}
	seen := map[string]bool{}
	for _, in := range im.Items {
		it := catalogue.Item{Code: in.Code, Name: in.Name, LegalBasis: in.LegalBasis, ItemType: in.ItemType, Level: in.Level, SubItems: in.SubItems}
		if err := it.Validate(); err != nil {
			t.Fatalf("accepted an invalid item %+v: %v", in, err)
		}
		for _, c := range append([]string{in.Code}, subCodesOf(in.SubItems)...) {
			if seen[c] {
				t.Fatalf("accepted code %s twice", c)
			}
			seen[c] = true
		}
	}
	for _, in := range im.Types {
		ty := catalogue.LicenceType{Code: in.Code, Name: in.Name, DefinerName: in.DefinerName, HolderKind: in.HolderKind,
			MinValidityMonths: in.MinValidityMonths, MaxValidityMonths: in.MaxValidityMonths, Channel: in.Channel, SerialPrefix: in.SerialPrefix, SerialWidth: in.SerialWidth}
		if ty.Channel == "" {
			ty.Channel = catalogue.ChannelElectronic
		}
		if err := ty.Validate(); err != nil {
			t.Fatalf("accepted an invalid type %+v: %v", in, err)
		}
	}
}

func subCodesOf(subs []catalogue.SubItem) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.Code)
	}
	return out
}

// FuzzParseImportCSV: any CSV is a valid import or a clean error, never a panic.
func FuzzParseImportCSV(f *testing.F) {
	for _, s := range []string{provinceItems, provinceTypes, "事项编码,事项名称,事项类型,事项层级\n0001,甲,行政许可,县级\n0001,甲,行政许可,县级\n",
		"证照类型代码,证照类型名称,定义机构,持证主体类型,供应渠道,印制编号前缀,印制编号位数\n11100000000013338W099,甲证,乙局,法人,自行印制,AB,6\n", "a,\"b\nc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := catalogue.ParseImport("目录.csv", data)
		checkImport(t, im, err)
	})
}

// FuzzParseImportJSON: any JSON is a valid import or a clean error, never a panic.
func FuzzParseImportJSON(f *testing.F) {
	for _, s := range []string{
		`{"format":"certseal-catalogue/1","items":[{"code":"0001","name":"甲","item_type":"行政许可","level":"county","sub_items":[{"code":"0002","name":"乙"}]}]}`,
		`{"format":"certseal-catalogue/1","types":[{"code":"11100000000013338W099","name":"甲证","definer_name":"乙局","holder_kind":"any","max_validity_months":12}]}`,
		`{"format":"certseal-catalogue/1","items":[{"code":"0001","name":"甲","item_type":"行政许可","level":"county","sub_items":[{"code":"0001","name":"乙"}]}]}`,
		`{"format":1}`, `[]`, `{"format":"certseal-catalogue/1"} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := catalogue.ParseImport("目录.json", data)
		checkImport(t, im, err)
	})
}

// FuzzParseImportXLSX: any bytes offered as an XLSX are a valid import or a clean error. Seeds:
// small workbooks of an item list and a type list.
func FuzzParseImportXLSX(f *testing.F) {
	for _, rows := range [][][]any{
		{{"事项编码", "事项名称", "事项类型", "事项层级", "子项编码", "子项名称"}, {"0001", "甲", "行政许可", "县级", "0002", "乙"}, nil, {"0001", "甲", "行政许可", "县级", "0003", "丙"}},
		{{"证照类型代码", "证照类型名称", "定义机构", "持证主体类型", "最长有效期（月）"}, {"11100000000013338W099", "甲证", "乙局", "不限", 24}},
	} {
		x := excelize.NewFile()
		for i, r := range rows {
			if r == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			x.SetSheetRow("Sheet1", cell, &r)
		}
		var buf bytes.Buffer
		if err := x.Write(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := catalogue.ParseImport("目录.xlsx", data)
		checkImport(t, im, err)
	})
}

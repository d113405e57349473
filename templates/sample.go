package templates

import (
	"unicode/utf8"
)

// SpecimenQR is what the QR code of a preview encodes: a preview is not a certificate.
const SpecimenQR = "样本 SPECIMEN：本文件为证照模板预览，不是有效证照"

// SampleDocument returns a document to preview the template with: the template's own sample
// (Template.Sample) when it has one, and otherwise a placeholder per field (the field's name,
// cut to its maximum length; the first option of an enum; a fixed date; 0 for a number), left
// out where it would not match the field's pattern. The licence number is the sample's or
// "样本0001", the QR code encodes SpecimenQR, the title starts with "样本：". The caller may
// change the values before rendering; the map is the caller's own. It never fails.
func (t *Template) SampleDocument() Document {
	d := Document{Values: map[string]string{}, QRPayload: SpecimenQR, Mode: Full, Title: "样本：" + t.Name}
	if t.Sample != nil {
		for k, v := range t.Sample.Values {
			d.Values[k] = v
		}
		d.LicenceNumber = t.Sample.LicenceNumber
		if t.Number != nil && t.Number.Field != "" && d.Values[t.Number.Field] != "" {
			d.LicenceNumber = ""
		}
		return d
	}
	for i := range t.Fields {
		f := &t.Fields[i]
		var v string
		switch f.Type {
		case TypeDate:
			v = "2026年1月1日"
		case TypeNumber:
			v = "0"
		case TypeEnum:
			if len(f.Options) > 0 {
				v = f.Options[0]
			}
		default:
			v = f.Name
			if f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength {
				v = string([]rune(v)[:f.MaxLength])
			}
		}
		if i < len(t.patterns) && t.patterns[i] != nil && !t.patterns[i].MatchString(v) {
			continue
		}
		d.Values[f.Name] = v
	}
	if t.Number != nil {
		d.LicenceNumber = "样本0001"
	}
	return d
}

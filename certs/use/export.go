package use

import (
	"io"

	"certseal"
	"certseal/internal/sheet"
)

// Table returns uses as one sheet of the use log export (用证记录).
func Table(uses []Use) sheet.Table {
	t := sheet.Table{Sheet: "用证记录", Headers: []string{"用证编号", "时间", "用证单位", "经办人", "证照名称", "证照编号", "证照标识", "持证主体",
		"事项编码", "事项名称", "办件编号", "用途", "授权方式", "加注件有效期至", "加注件SHA-256"}}
	for _, u := range uses {
		t.Rows = append(t.Rows, []any{u.ID, u.Time.In(certseal.China).Format("2006-01-02 15:04:05"), u.OrgName, u.Username, u.LicenceName,
			u.LicenceNumber, u.Identifier, u.HolderName, u.ItemCode, u.ItemName, u.BusinessSerial, u.Purpose, consentLabel(u.Consent), u.ValidUntil, u.CopySHA256})
	}
	return t
}

// WriteCSV writes uses as CSV (UTF-8 with a BOM; formula text defused).
func WriteCSV(w io.Writer, uses []Use) error { return sheet.WriteCSV(w, Table(uses)) }

// WriteXLSX writes uses as an XLSX workbook.
func WriteXLSX(w io.Writer, uses []Use) error { return sheet.WriteXLSX(w, Table(uses)) }

package certs

import (
	"context"
	"encoding/json"
	"fmt"

	"certseal"
	"certseal/internal/docstore"
	"certseal/internal/store"
	"certseal/inventory"
)

// Inconsistency is one way the certificates and the blank-form ledger disagree.
type Inconsistency struct {
	CertificateID string `json:"certificate_id,omitempty"`
	HolderID      string `json:"holder_id,omitempty"`
	TypeCode      string `json:"type_code"`
	Serial        string `json:"blank_serial,omitempty"`
	Problem       string `json:"problem"`
}

// CheckConsistency compares the certificates with the ledger: every certificate printed on a
// blank form has that serial used by its issuer, and each issuer's count of used serials of a
// type equals its number of certificates on forms of that type — so no certificate lacks its
// used serial and no used serial lacks its certificate; and every certificate's stored PDF
// (in docs, or still in the database before MigrateDocuments) and OFD match the SHA-256 and
// size recorded when they were signed (an OFD-only certificate has its OFD alone; a record
// with neither is a finding), and every record decodes. Run it
// on a quiescent database (the `certseal check` command opens the file read-only, so nothing
// writes meanwhile). It returns an error only when the store fails.
func CheckConsistency(ctx context.Context, db *store.DB, files docstore.Store, ledger *inventory.Service) ([]Inconsistency, int, error) {
	var out []Inconsistency
	onForms := map[[2]string]uint64{}
	n := 0
	var docs []Certificate // checked against their PDFs after the scan, outside its transaction
	err := db.View(func(tx *store.Tx) error {
		return tx.Scan(bucketRecords, nil, nil, func(k, v []byte) error {
			var c Certificate
			if err := json.Unmarshal(v, &c); err != nil {
				out = append(out, Inconsistency{CertificateID: fmt.Sprint(store.ParseU64(k)), Problem: "证照记录已损坏，无法解码：" + err.Error()})
				return nil
			}
			n++
			docs = append(docs, Certificate{ID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial, PDFSHA256: c.PDFSHA256, PDFSize: c.PDFSize, OFDSHA256: c.OFDSHA256, OFDSize: c.OFDSize})
			if c.Serial == "" {
				return nil
			}
			onForms[[2]string{c.IssuerOrgID, c.TypeCode}]++
			holder, st, err := inventory.StateTx(tx, c.TypeCode, c.Serial)
			switch {
			case err != nil:
				out = append(out, Inconsistency{CertificateID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial, Problem: "空白证照不在台账中：" + certseal.ErrorMessage(err)})
			case holder != c.IssuerOrgID || st != inventory.Used:
				out = append(out, Inconsistency{CertificateID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial,
					Problem: fmt.Sprintf("证照使用的空白证照状态为 %s（持有机构 %s），应为发证机关已使用", st, holder)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, n, err
	}
	for i := range docs {
		if err := ctx.Err(); err != nil {
			return nil, n, err
		}
		c := &docs[i]
		var legacy []byte
		if err := db.View(func(tx *store.Tx) error {
			legacy = legacyPDFTx(tx, c.ID)
			return nil
		}); err != nil {
			return nil, n, err
		}
		if p := checkOFDFile(ctx, files, c); p != "" {
			out = append(out, Inconsistency{CertificateID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial, Problem: p})
		}
		if !c.HasPDF() && legacy == nil {
			if !c.HasOFD() {
				out = append(out, Inconsistency{CertificateID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial, Problem: "证照记录没有任何证照文件（既无 PDF 也无 OFD 的摘要）"})
			}
			continue // an OFD-only certificate: its OFD was checked above
		}
		pdf, missing, err := readDocument(ctx, files, c, legacy)
		if err != nil {
			return nil, n, err
		}
		if missing {
			out = append(out, Inconsistency{CertificateID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial, Problem: "存储的证照文件不存在：SHA-256 " + c.PDFSHA256})
			continue
		}
		if pdf == nil || !DocumentMatches(c, pdf) {
			out = append(out, Inconsistency{CertificateID: c.ID, TypeCode: c.TypeCode, Serial: c.Serial,
				Problem: fmt.Sprintf("存储的证照文件已损坏：与签发时记录的 SHA-256 %s（%d 字节）不符", c.PDFSHA256, c.PDFSize)})
		}
	}
	admin := certseal.Actor{UserID: certseal.System.UserID, Username: "system", Role: certseal.RoleAdmin, OrgKind: certseal.KindCityCenter}
	lines, err := ledger.Stock(ctx, admin, inventory.StockQuery{State: inventory.Used, RangeLimit: 1})
	if err != nil {
		return nil, n, err
	}
	used := map[[2]string]uint64{}
	for _, l := range lines {
		used[[2]string{l.HolderID, l.TypeCode}] = l.Count
	}
	for k, u := range used {
		if u != onForms[k] {
			out = append(out, Inconsistency{HolderID: k[0], TypeCode: k[1],
				Problem: fmt.Sprintf("台账中已使用 %d 张，但只有 %d 份证照打印在空白证照上", u, onForms[k])})
		}
	}
	for k, c := range onForms {
		if _, ok := used[k]; !ok {
			out = append(out, Inconsistency{HolderID: k[0], TypeCode: k[1], Problem: fmt.Sprintf("有 %d 份证照，但台账中没有已使用的空白证照", c)})
		}
	}
	return out, n, nil
}

package web

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"certseal"
	"certseal/certs/exchange"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/server"
)

// exchangePages are the pages of the exchange with the provincial platform: the catalogue
// import (upload, dry run, apply), the claim of an item, and the export downloads.
func (m *Web) exchangePages() []webPage {
	return []webPage{
		{"GET", "/admin/exchange", "web.exchange", "exchange.changes", deskAdmin, m.exchangePage},
		{"POST", "/admin/exchange/import", "web.exchange_import", "catalogue.import", nil, m.exchangeImport},
		{"POST", "/admin/exchange/claim", "web.exchange_claim", "catalogue.claim", nil, m.exchangeClaim},
		{"GET", "/admin/exchange/changes.json", "web.exchange_json", "exchange.export_json", nil, m.exchangeExport("json")},
		{"GET", "/admin/exchange/changes.xml", "web.exchange_xml", "exchange.export_xml", nil, m.exchangeExport("xml")},
	}
}

type exchangeData struct {
	LastSeq  uint64
	Plan     *catalogue.Plan
	FileName string
	File     string // the uploaded file, base64, carried to the apply
	Applied  bool
	Orgs     []certseal.Org
	Types    []catalogue.LicenceType
	Claim    catalogue.ClaimRequest
	Ops      []exchange.Op
}

func (m *Web) exchangeData(r *http.Request) *exchangeData {
	d := &exchangeData{Ops: exchange.Ops}
	if m.Exchange != nil {
		d.LastSeq, _ = m.Exchange.LastSeq(r.Context())
	}
	d.Orgs, _, _ = m.Orgs.List(r.Context(), orgs.OrgFilter{}, "", 500)
	d.Types, _, _ = m.Catalogue.ListTypes(r.Context(), catalogue.TypeFilter{}, "", 500)
	return d
}

func (m *Web) exchangePage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "exchange", &webView{Title: "与省平台交换", Data: m.exchangeData(r)})
}

// importFile returns the uploaded catalogue file: the file input, or on apply the file the
// dry run showed (carried in the form, so that any node of a cluster can apply it).
func importFile(r *http.Request) (string, []byte, error) {
	if b64 := r.FormValue("data"); b64 != "" {
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(data) > catalogue.MaxImportFile {
			return "", nil, certseal.Errorf(certseal.EInvalid, "预览的文件已损坏，请重新上传").WithDetail("field", "file")
		}
		return r.FormValue("filename"), data, nil
	}
	f, h, err := r.FormFile("file")
	if err != nil {
		return "", nil, certseal.Errorf(certseal.EInvalid, "请选择要导入的事项目录或证照类型目录文件（JSON、CSV 或 XLSX）").WithDetail("field", "file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, catalogue.MaxImportFile+1))
	if err != nil {
		return "", nil, certseal.Errorf(certseal.EInvalid, "无法读取上传的文件").WithDetail("field", "file")
	}
	if len(data) > catalogue.MaxImportFile {
		return "", nil, certseal.Errorf(certseal.ETooLarge, "目录文件超过 %d MB 上限", catalogue.MaxImportFile>>20).WithDetail("field", "file")
	}
	return h.Filename, data, nil
}

func (m *Web) exchangeImport(w http.ResponseWriter, r *http.Request) {
	d := m.exchangeData(r)
	v := &webView{Title: "与省平台交换", Data: d}
	name, data, err := importFile(r)
	if err != nil {
		m.fail(w, r, "exchange", v, err)
		return
	}
	im, err := catalogue.ParseImport(name, data)
	if err != nil {
		m.fail(w, r, "exchange", v, certseal.Errorf(certseal.ErrorCode(err), "“%s”：%s", name, certseal.ErrorMessage(err)).WithDetail("field", "file"))
		return
	}
	d.FileName = name
	if r.FormValue("action") != "apply" {
		p, err := m.Catalogue.PlanImport(r.Context(), im)
		if err != nil {
			m.fail(w, r, "exchange", v, err)
			return
		}
		d.Plan, d.File = &p, base64.StdEncoding.EncodeToString(data)
		m.render(w, r, http.StatusOK, "exchange", v)
		return
	}
	p, err := m.Catalogue.ApplyImport(r.Context(), webActor(r), im, r.FormValue("expect"))
	if err != nil {
		if certseal.ErrorCode(err) != certseal.EConflict {
			if p2, err2 := m.Catalogue.PlanImport(r.Context(), im); err2 == nil {
				d.Plan, d.File = &p2, base64.StdEncoding.EncodeToString(data)
			}
		}
		m.fail(w, r, "exchange", v, err)
		return
	}
	if !p.Applied {
		m.done(w, r, "/admin/exchange", "“"+name+"”与现有目录一致，没有需要导入的内容。")
		return
	}
	m.done(w, r, "/admin/exchange", "已导入“"+name+"”：新增 "+strconv.Itoa(p.Added)+" 项，变更 "+strconv.Itoa(p.Changed)+" 项，不变 "+strconv.Itoa(p.Unchanged)+" 项。")
}

func (m *Web) exchangeClaim(w http.ResponseWriter, r *http.Request) {
	req := catalogue.ClaimRequest{ItemCode: strings.TrimSpace(r.FormValue("item_code")), HandlingOrgID: r.FormValue("handling_org_id")}
	if tc := r.FormValue("type_code"); tc != "" {
		req.TypeCodes = []string{tc}
	}
	res, err := m.Catalogue.Claim(r.Context(), webActor(r), req)
	if err != nil {
		d := m.exchangeData(r)
		d.Claim = req
		m.fail(w, r, "exchange", &webView{Title: "与省平台交换", Data: d}, err)
		return
	}
	msg := "已认领事项“" + res.Item.Name + "”（" + req.ItemCode + "）"
	for _, b := range res.Bound {
		msg += "，并绑定证照类型 " + b.TypeCode
	}
	if len(res.Existing) > 0 {
		msg += "；证照类型 " + strings.Join(res.Existing, "、") + " 早已绑定"
	}
	m.done(w, r, "/admin/exchange", msg+"。")
}

func (m *Web) exchangeExport(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for _, k := range []string{"after", "upto", "from", "to"} {
			if strings.TrimSpace(q.Get(k)) == "" {
				q.Del(k)
			}
		}
		rg, err := exchange.ParseRange(q.Get)
		if err == nil {
			var f exchange.File
			if f, err = m.Exchange.Export(r.Context(), webActor(r), rg, format); err == nil {
				w.Header().Set("Content-Type", f.Type+"; charset=utf-8")
				w.Header().Set("Content-Disposition", server.Disposition("attachment", "certseal-exchange."+format, f.Name))
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.Write(f.Data)
				return
			}
		}
		m.fail(w, r, "exchange", &webView{Title: "与省平台交换", Data: m.exchangeData(r)}, err)
	}
}

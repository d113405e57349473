package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/seals"
	"certseal/server"
)

// Batch issuance for the window (issue #8: long operations show a progress bar): upload a CSV
// or XLSX sheet with the type, item, seal and first blank serial chosen in the form, check it
// without issuing (dry run), or start it; the batch's page follows its progress by polling
// /batch/{id}/status (app.js) and offers the PDFs as one ZIP when it is done.

// Default column headers of a batch sheet: the ones the food licence samples use.
const (
	batchDefaultHolderName = "经营者名称"
	batchDefaultHolderCode = "统一社会信用代码"
	batchDefaultValidTo    = "有效期至"
)

type batchFormData struct {
	Types    []catalogue.LicenceType
	Type     *catalogue.LicenceType
	Bindings []catalogue.Binding
	Item     string
	Seals    []seals.Seal
	SealID   string
	Paper    bool
	Serial   string
	InStock  uint64
	// the column headers of the holder and the validity
	HolderName, HolderCode, ValidTo string
	// the dry run's result, and the file it checked
	Report   *certs.BatchReport
	FileName string
	Recent   []batchInfo
	NoRunner bool
}

// batchInfo is a batch with its progress as the pages and the status endpoint show it.
type batchInfo struct {
	certs.Batch
	Label    string // the status in Chinese
	Class    string // ok, warn, bad: the badge
	Text     string // where it is, in a sentence
	Value    int    // the progress bar's value out of Max
	Max      int
	Percent  int
	Finished bool
	ZIP      bool // there are PDFs to download
}

func batchInfoOf(b certs.Batch) batchInfo {
	i := batchInfo{Batch: b, Label: b.Status.Label(), Max: max(b.Total, 1)}
	switch b.Status {
	case certs.BatchChecking:
		i.Class, i.Value = "warn", b.Checked
		i.Text = "正在逐行检查：已检查 " + strconv.Itoa(b.Checked) + " / " + strconv.Itoa(b.Total) + " 行（检查全部通过后才开始签发）"
	case certs.BatchIssuing:
		i.Class, i.Value = "warn", b.Done+b.Failed
		i.Text = "正在签发：已签发 " + strconv.Itoa(b.Done) + " / " + strconv.Itoa(b.Total) + " 张"
		if b.Failed > 0 {
			i.Text += "，失败 " + strconv.Itoa(b.Failed) + " 行"
		}
	case certs.BatchDone:
		i.Class, i.Value, i.Finished, i.ZIP = "ok", i.Max, true, b.Done > 0
		i.Text = "已完成：签发 " + strconv.Itoa(b.Done) + " 张"
		if b.Failed > 0 {
			i.Class = "warn"
			i.Text += "，失败 " + strconv.Itoa(b.Failed) + " 行"
		}
	case certs.BatchFailed:
		i.Class, i.Value, i.Finished = "bad", b.Checked, true
		i.Text = "检查未通过：" + strconv.Itoa(b.Failed) + " 行有错误，整批未签发；请改正后重新上传"
	}
	i.Value = min(i.Value, i.Max)
	i.Percent = i.Value * 100 / i.Max
	return i
}

// batchForm builds the batch form for the type in the query or form, with what the clerk chose.
func (m *Web) batchForm(r *http.Request) (*batchFormData, error) {
	ctx := r.Context()
	actor := webActor(r)
	d := &batchFormData{NoRunner: m.Batches == nil,
		HolderName: formOr(r, "holder_name_column", batchDefaultHolderName),
		HolderCode: formOr(r, "holder_code_column", batchDefaultHolderCode),
		ValidTo:    strings.TrimSpace(r.FormValue("valid_to_column"))}
	if r.Method == http.MethodGet && !r.Form.Has("valid_to_column") {
		d.ValidTo = batchDefaultValidTo
	}
	if bs, _, err := m.Certs.ListBatches(ctx, actor, "", 20); err == nil {
		for _, b := range bs {
			if b.OrgID == actor.OrgID {
				d.Recent = append(d.Recent, batchInfoOf(b))
			}
		}
	}
	types, err := m.allTypes(ctx)
	if err != nil {
		return d, err
	}
	d.Types = types
	code := r.FormValue("type")
	for i := range types {
		if types[i].Code == code {
			d.Type = &types[i]
		}
	}
	if d.Type == nil {
		return d, nil
	}
	if d.Bindings, err = m.Catalogue.BindingsOfType(ctx, d.Type.Code); err != nil {
		return d, err
	}
	d.Item = r.FormValue("item")
	if d.Item == "" && len(d.Bindings) > 0 {
		d.Item = d.Bindings[0].ItemCode
	}
	d.Seals, d.SealID, d.Paper, d.Serial, d.InStock, err = m.sealsAndSerial(ctx, actor, d.Type, r.FormValue("seal"), strings.TrimSpace(r.FormValue("first_serial")))
	return d, err
}

func formOr(r *http.Request, name, def string) string {
	if v := strings.TrimSpace(r.FormValue(name)); v != "" {
		return v
	}
	return def
}

func (d *batchFormData) mapping() certs.BatchMapping {
	m := certs.BatchMapping{TypeCode: d.Type.Code, ItemCode: d.Item, SealID: d.SealID,
		HolderName: d.HolderName, HolderCode: d.HolderCode, ValidTo: d.ValidTo}
	if d.Paper {
		m.FirstSerial = d.Serial
	}
	return m
}

func (m *Web) batchPage(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	d, err := m.batchForm(r)
	v := &webView{Title: "批量签发", Data: d}
	if err != nil {
		m.fail(w, r, "batch", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "batch", v)
}

// batchPost checks (action=check) or starts a batch from the multipart form; page() has parsed
// the form already (its CSRF token is one of the fields).
func (m *Web) batchPost(w http.ResponseWriter, r *http.Request) {
	d, err := m.batchForm(r)
	v := &webView{Title: "批量签发", Data: d}
	if err == nil && d.Type == nil {
		err = certseal.Errorf(certseal.EInvalid, "请先选择证照类型").WithDetail("field", "type")
	}
	if err == nil && d.Paper && d.Serial == "" {
		err = certseal.Errorf(certseal.EInvalid, "请填写第一张空白证照的印制编号").WithDetail("field", "first_serial")
	}
	if err == nil && m.Batches == nil {
		err = certseal.Errorf(certseal.EUnavailable, "批量签发服务未启用")
	}
	var name string
	var data []byte
	if err == nil {
		name, data, err = batchFile(r)
	}
	if err != nil {
		m.fail(w, r, "batch", v, err)
		return
	}
	d.FileName = name
	if r.FormValue("action") == "check" {
		rep, err := m.Certs.CheckBatch(r.Context(), webActor(r), name, data, d.mapping())
		if err != nil {
			m.fail(w, r, "batch", v, err)
			return
		}
		d.Report = &rep
		m.render(w, r, http.StatusOK, "batch", v)
		return
	}
	b, err := m.Batches.Start(r.Context(), webActor(r), name, data, d.mapping())
	if err != nil {
		m.fail(w, r, "batch", v, err)
		return
	}
	m.done(w, r, "/batch/"+b.ID, "已开始批量签发“"+name+"”，共 "+strconv.Itoa(b.Total)+" 行：先逐行检查，全部通过后签发。")
}

// batchFile returns the uploaded sheet's name and content.
func batchFile(r *http.Request) (string, []byte, error) {
	f, h, err := r.FormFile("file")
	if err != nil {
		return "", nil, certseal.Errorf(certseal.EInvalid, "请选择要上传的 CSV 或 XLSX 文件").WithDetail("field", "file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, certs.MaxBatchFile+1))
	if err != nil {
		return "", nil, certseal.Errorf(certseal.EInvalid, "无法读取上传的文件").WithDetail("field", "file")
	}
	if len(data) > certs.MaxBatchFile {
		return "", nil, certseal.Errorf(certseal.ETooLarge, "文件超过 %d MB 上限", certs.MaxBatchFile>>20).WithDetail("field", "file")
	}
	if len(data) == 0 {
		return "", nil, certseal.Errorf(certseal.EInvalid, "上传的文件为空").WithDetail("field", "file")
	}
	return h.Filename, data, nil
}

// batchOf returns the batch of the path, only to its own organisation (ENotFound otherwise).
func (m *Web) batchOf(r *http.Request) (certs.Batch, error) {
	id := server.Var(r, "id")
	b, err := m.Certs.GetBatch(r.Context(), webActor(r), id)
	if err == nil && b.OrgID != webActor(r).OrgID {
		err = certseal.Errorf(certseal.ENotFound, "批次 %q 不存在", id)
	}
	return b, err
}

func (m *Web) batchStatusPage(w http.ResponseWriter, r *http.Request) {
	b, err := m.batchOf(r)
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	i := batchInfoOf(b)
	m.render(w, r, http.StatusOK, "batchstatus", &webView{Title: "批量签发批次 " + b.ID, Data: &i})
}

// batchStatusJSON is what the batch page polls.
type batchStatusJSON struct {
	ID       string            `json:"id"`
	Status   certs.BatchStatus `json:"status"`
	Label    string            `json:"label"`
	Text     string            `json:"text"`
	Total    int               `json:"total"`
	Checked  int               `json:"checked"`
	Done     int               `json:"done"`
	Failed   int               `json:"failed"`
	Value    int               `json:"value"`
	Max      int               `json:"max"`
	Percent  int               `json:"percent"`
	Finished bool              `json:"finished"`
}

func (m *Web) batchStatus(w http.ResponseWriter, r *http.Request) {
	b, err := m.batchOf(r)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	i := batchInfoOf(b)
	w.Header().Set("Cache-Control", "no-store")
	server.WriteJSON(w, http.StatusOK, batchStatusJSON{ID: b.ID, Status: b.Status, Label: i.Label, Text: i.Text, Total: b.Total,
		Checked: b.Checked, Done: b.Done, Failed: b.Failed, Value: i.Value, Max: i.Max, Percent: i.Percent, Finished: i.Finished})
}

func (m *Web) batchZIP(w http.ResponseWriter, r *http.Request) {
	b, err := m.batchOf(r)
	if err == nil && b.Status != certs.BatchDone {
		err = certseal.Errorf(certseal.EConflict, "批次尚未完成（当前状态：%s），完成后才能下载", batchInfoOf(b).Label)
	}
	if err == nil && m.Batches == nil {
		err = certseal.Errorf(certseal.EUnavailable, "批量签发服务未启用")
	}
	if err == nil {
		err = m.Batches.CheckZIP(r.Context(), webActor(r), b.ID) // a damaged stored PDF is refused, not sent
	}
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	// a big batch takes longer than the server's write timeout
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", server.Disposition("attachment", "batch-"+b.ID+".zip", "批次"+b.ID+"-证照.zip"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := m.Batches.WriteZIP(r.Context(), webActor(r), b.ID, w); err != nil {
		m.Log.Error("web batch zip cut short", "request_id", server.RequestID(r.Context()), "batch", b.ID, "err", err)
	}
}

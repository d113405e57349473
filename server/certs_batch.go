package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"certseal"
	"certseal/certs"
)

// BatchAPI is the HTTP module of batch issuance: upload a CSV or XLSX sheet with a column
// mapping, check it (dry run) or issue it in the background, follow its progress, and download
// the PDFs as one ZIP.
type BatchAPI struct {
	Certs   *certs.Service
	Batches *certs.Batches
}

// NewBatchAPI returns the batch module. Register it before the certificates module: its
// /api/v1/certificates/batch must match before /api/v1/certificates/{id}.
func NewBatchAPI(svc *certs.Service, b *certs.Batches) *BatchAPI {
	return &BatchAPI{Certs: svc, Batches: b}
}

// Routes returns the module's routes.
func (m *BatchAPI) Routes() []Route {
	issuers := []certseal.Role{certseal.RoleClerk, certseal.RoleBureauOfficer}
	readers := []certseal.Role{certseal.RoleAdmin, certseal.RoleClerk, certseal.RoleBureauOfficer, certseal.RoleAuditor}
	return []Route{
		{Method: "POST", Path: "/api/v1/certificates/batch", Name: "batches.create", Roles: issuers, Handler: m.create},
		{Method: "GET", Path: "/api/v1/certificates/batch", Name: "batches.list", Roles: readers, Handler: m.list},
		{Method: "GET", Path: "/api/v1/certificates/batches/{id}", Name: "batches.get", Roles: readers, Handler: m.get},
		{Method: "GET", Path: "/api/v1/certificates/batches/{id}/zip", Name: "batches.zip", Roles: readers, Handler: m.zip},
	}
}

// maxMappingPart bounds the JSON mapping part and each plain form field of an upload.
const maxMappingPart = 64 << 10

// batchUpload is a parsed multipart upload.
type batchUpload struct {
	name    string
	data    []byte
	mapping certs.BatchMapping
	dryRun  bool
}

// readBatchUpload reads multipart/form-data with a "file" part (CSV or XLSX), a "mapping" part
// (JSON, certs.BatchMapping) and/or plain fields named like the mapping's keys (type_code,
// seal_id, first_serial, ...), and "dry_run". The whole body is limited to MaxBatchFile plus
// 1 MiB.
func readBatchUpload(w http.ResponseWriter, r *http.Request) (*batchUpload, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, &certseal.Error{Code: "unsupported_media", Message: "请以 multipart/form-data 上传：file 为 CSV 或 XLSX 文件，mapping 为列映射（JSON）"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, certs.MaxBatchFile+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取上传的表单")
	}
	up := &batchUpload{}
	fields := map[string]json.RawMessage{}
	tooBig := func(err error) error {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return certseal.Errorf(certseal.ETooLarge, "上传内容超过 %d MB 上限", certs.MaxBatchFile>>20)
		}
		return certseal.Errorf(certseal.EInvalid, "无法读取上传的表单")
	}
	haveFile := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, tooBig(err)
		}
		name := p.FormName()
		switch {
		case name == "file":
			if haveFile {
				return nil, certseal.Errorf(certseal.EInvalid, "一次只能上传一个文件")
			}
			haveFile = true
			up.name = p.FileName()
			data, err := io.ReadAll(io.LimitReader(p, certs.MaxBatchFile+1))
			if err != nil {
				return nil, tooBig(err)
			}
			if len(data) > certs.MaxBatchFile {
				return nil, certseal.Errorf(certseal.ETooLarge, "文件超过 %d MB 上限", certs.MaxBatchFile>>20)
			}
			up.data = data
		default:
			raw, err := io.ReadAll(io.LimitReader(p, maxMappingPart+1))
			if err != nil {
				return nil, tooBig(err)
			}
			if len(raw) > maxMappingPart {
				return nil, certseal.Errorf(certseal.ETooLarge, "表单字段 %s 过长", name)
			}
			switch name {
			case "mapping":
				dec := json.NewDecoder(bytes.NewReader(raw))
				if err := dec.Decode(&fields); err != nil {
					return nil, certseal.Errorf(certseal.EInvalid, "mapping 应为 JSON 对象：%s", certseal.ErrorMessage(decodeError(err)))
				}
			case "dry_run":
				up.dryRun = isTrue(string(raw))
			default:
				v, _ := json.Marshal(strings.TrimSpace(string(raw)))
				fields[name] = v
			}
		}
	}
	if !haveFile {
		return nil, certseal.Errorf(certseal.EInvalid, "请上传 CSV 或 XLSX 文件（表单字段 file）")
	}
	raw, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&up.mapping); err != nil {
		return nil, decodeError(err)
	}
	if isTrue(r.URL.Query().Get("dry_run")) {
		up.dryRun = true
	}
	return up, nil
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (m *BatchAPI) create(w http.ResponseWriter, r *http.Request) {
	up, err := readBatchUpload(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if up.dryRun {
		rep, err := m.Certs.CheckBatch(r.Context(), Actor(r), up.name, up.data, up.mapping)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
		return
	}
	b, err := m.Batches.Start(r.Context(), Actor(r), up.name, up.data, up.mapping)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/certificates/batches/"+b.ID)
	writeJSON(w, http.StatusAccepted, b)
}

func (m *BatchAPI) list(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	bs, next, err := m.Certs.ListBatches(r.Context(), Actor(r), pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(bs, next))
}

func (m *BatchAPI) get(w http.ResponseWriter, r *http.Request) {
	b, err := m.Certs.GetBatch(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (m *BatchAPI) zip(w http.ResponseWriter, r *http.Request) {
	id := Var(r, "id")
	b, err := m.Certs.GetBatch(r.Context(), Actor(r), id)
	if err == nil && b.Status != certs.BatchDone {
		err = certseal.Errorf(certseal.EConflict, "批次尚未完成（当前状态：%s），完成后才能下载", b.Status)
	}
	if err == nil {
		err = m.Batches.CheckZIP(r.Context(), Actor(r), id) // a damaged stored PDF is refused, not sent
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	// a big batch takes longer than the server's write timeout
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", disposition("attachment", "batch-"+id+".zip", "批次"+id+"-证照.zip"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := m.Batches.WriteZIP(r.Context(), Actor(r), id, w); err != nil {
		logOf(r.Context()).Error("batch zip cut short", "request_id", RequestID(r.Context()), "batch", id, "err", err)
	}
}

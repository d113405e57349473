package certs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/inventory"
)

// batchCSV writes sample records from..to-1 as a CSV batch file with every sample column except
// the licence number; edit changes a row's cells (by header) before it is written.
func batchCSV(t *testing.T, from, to int, edit map[int]map[string]string) []byte {
	t.Helper()
	recs := fixtures.FoodRecords(t)
	var header []string
	for k := range recs[0].Fields {
		if k != "许可证编号" && k != "发证机关" && k != "发证日期" {
			header = append(header, k)
		}
	}
	slices.Sort(header)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for i := from; i < to; i++ {
		row := make([]string, len(header))
		for j, h := range header {
			row[j] = recs[i].Fields[h]
			if v, ok := edit[i][h]; ok {
				row[j] = v
			}
		}
		w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

func (e *env) batchMapping(first int) certs.BatchMapping {
	return certs.BatchMapping{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: e.seal,
		HolderName: "经营者名称", HolderCode: "统一社会信用代码", ValidTo: "有效期至", FirstSerial: serial(first)}
}

// TestCheckBatch: the dry run checks every row as Issue would and reports each bad row by its
// row number in the file, writing nothing; a mapping that does not fit the file is refused whole.
func TestCheckBatch(t *testing.T) {
	e := newEnv(t)
	data := batchCSV(t, 50, 55, map[int]map[string]string{
		51: {"统一社会信用代码": "91510802AA191BG790"},
		53: {"有效期至": "明年"},
	})
	before := e.snapshot()
	r, err := e.svc.CheckBatch(ctx, e.clerk, "批量.csv", data, e.batchMapping(100))
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 5 || r.Valid != 3 || len(r.Errors) != 2 || r.Errors[0].Row != 3 || r.Errors[1].Row != 5 ||
		r.Errors[0].Code != certseal.EInvalid || r.Errors[1].Code != certseal.EInvalid {
		t.Errorf("report %+v", r)
	}
	// the serials count up from the first: the fourth row's form is another bureau's
	m := e.batchMapping(zhaohuaFirst - 3)
	if r, err := e.svc.CheckBatch(ctx, e.clerk, "批量.csv", batchCSV(t, 50, 55, nil), m); err != nil || r.Valid != 3 || len(r.Errors) != 2 ||
		r.Errors[0].Row != 5 || r.Errors[0].Code != certseal.EConflict {
		t.Errorf("serials past the bureau's stock: %+v %v", r, err)
	}
	for name, tc := range map[string]struct {
		actor certseal.Actor
		m     func(m *certs.BatchMapping)
		code  string
	}{
		"unknown column":       {e.clerk, func(m *certs.BatchMapping) { m.HolderName = "名称" }, certseal.EInvalid},
		"two serial sources":   {e.clerk, func(m *certs.BatchMapping) { m.SerialColumn = "经营者名称" }, certseal.EInvalid},
		"no seal":              {e.clerk, func(m *certs.BatchMapping) { m.SealID = "" }, certseal.EInvalid},
		"seal twice":           {e.clerk, func(m *certs.BatchMapping) { m.SealIDColumn = "经营者名称" }, certseal.EInvalid},
		"unknown type":         {e.clerk, func(m *certs.BatchMapping) { m.TypeCode = "11100000000013338W999" }, certseal.ENotFound},
		"first serial too far": {e.clerk, func(m *certs.BatchMapping) { m.FirstSerial = "SC99999998" }, certseal.EInvalid},
		"auditor":              {e.auditor, nil, certseal.EForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			m := e.batchMapping(100)
			if tc.m != nil {
				tc.m(&m)
			}
			_, err := e.svc.CheckBatch(ctx, tc.actor, "批量.csv", data, m)
			wantCode(t, err, tc.code)
		})
	}
	if !bytes.Equal(before, e.snapshot()) {
		t.Error("a dry run wrote to the database")
	}
}

// runBatch runs the batch runner until the batch is done or failed, and returns it.
func (e *env) runBatch(b *certs.Batches, id string) certs.Batch {
	e.t.Helper()
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.Run(c) }()
	defer func() { cancel(); <-done }()
	b.Kick()
	for {
		bt, err := e.svc.GetBatch(ctx, e.admin, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if bt.Status == certs.BatchDone || bt.Status == certs.BatchFailed {
			return bt
		}
		time.Sleep(5 * time.Millisecond) // waiting only; the test's timeout bounds it
	}
}

// TestBatchIssues: a stored batch is checked and issued by the runner, one certificate per row
// on consecutive blank forms, and its ZIP holds each PDF under its licence number; running again
// issues nothing more.
func TestBatchIssues(t *testing.T) {
	e := newEnv(t)
	b := certs.NewBatches(e.svc)
	bt, err := b.Start(ctx, e.clerk, "批量.csv", batchCSV(t, 60, 63, nil), e.batchMapping(100))
	if err != nil || bt.Status != certs.BatchChecking || bt.Total != 3 {
		t.Fatalf("start: %+v %v", bt, err)
	}
	bt = e.runBatch(b, bt.ID)
	if bt.Status != certs.BatchDone || bt.Done != 3 || bt.Failed != 0 || len(bt.Errors) != 0 {
		t.Fatalf("batch: %+v", bt)
	}
	list, _, err := e.svc.List(ctx, e.clerk, certs.Filter{}, "", 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("%d certificates: %v", len(list), err)
	}
	numbers := map[string]bool{}
	for _, c := range list {
		numbers[c.LicenceNumber] = true
		if c.Status != certs.StatusValid || c.Serial < serial(100) || c.Serial > serial(102) {
			t.Errorf("certificate %s on %s: %s", c.ID, c.Serial, c.Status)
		}
	}
	for n := 100; n <= 102; n++ {
		if _, st := e.blank(n); st != inventory.Used {
			t.Errorf("blank form %s is %s", serial(n), st)
		}
	}
	var zbuf bytes.Buffer
	if err := b.WriteZIP(ctx, e.clerk, bt.ID, &zbuf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
	if err != nil || len(zr.File) != 6 { // a PDF and an OFD each (pdf+ofd)
		t.Fatalf("zip: %v, %d files", err, len(zr.File))
	}
	for i, f := range zr.File {
		ext := []string{".pdf", ".ofd"}[i%2]
		if !strings.HasSuffix(f.Name, ext) || !numbers[f.Name[:len(f.Name)-len(ext)]] {
			t.Errorf("zip entry %s is no certificate's number", f.Name)
		}
	}
	before := e.snapshot()
	if again := e.runBatch(b, bt.ID); again.Done != 3 || !bytes.Equal(before, e.snapshot()) {
		t.Errorf("a second run changed the batch: %+v", again)
	}
}

// TestBatchFails: a batch with a bad row fails whole after the check, issuing nothing; its ZIP is
// refused; other bureaus neither see nor list it.
func TestBatchFails(t *testing.T) {
	e := newEnv(t)
	b := certs.NewBatches(e.svc)
	bt, err := b.Start(ctx, e.clerk, "批量.csv", batchCSV(t, 70, 73, map[int]map[string]string{72: {"经营项目": ""}}), e.batchMapping(110))
	if err != nil {
		t.Fatal(err)
	}
	bt = e.runBatch(b, bt.ID)
	if bt.Status != certs.BatchFailed || bt.Done != 0 || len(bt.Errors) != 1 || bt.Errors[0].Row != 4 {
		t.Fatalf("batch: %+v", bt)
	}
	if l, _, _ := e.svc.List(ctx, e.admin, certs.Filter{}, "", 10); len(l) != 0 {
		t.Errorf("a failed batch issued %d certificates", len(l))
	}
	if _, st := e.blank(110); st != inventory.InStock {
		t.Errorf("blank form %s is %s", serial(110), st)
	}
	wantCode(t, b.WriteZIP(ctx, e.clerk, bt.ID, &bytes.Buffer{}), certseal.EConflict)
	_, err = e.svc.GetBatch(ctx, e.other, bt.ID)
	wantCode(t, err, certseal.ENotFound)
	if l, _, err := e.svc.ListBatches(ctx, e.other, "", 10); err != nil || len(l) != 0 {
		t.Errorf("another bureau lists %d batches: %v", len(l), err)
	}
	if l, _, err := e.svc.ListBatches(ctx, e.auditor, "", 10); err != nil || len(l) != 1 || l[0].ID != bt.ID {
		t.Errorf("the auditor lists %+v: %v", l, err)
	}
}

package demand_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory/demand"
)

// bigRound makes a round of nOrgs county bureaus × nTypes licence types, every organisation
// filing (and approved for) every type, created directly in one transaction.
func bigRound(b *testing.B, nOrgs, nTypes int) (*env, demand.Round) {
	e := newEnv(b)
	var codes []string
	var ids []string
	depts := []string{e.ids[demo.CityDepartments[0]], e.ids[demo.CityDepartments[1]], e.ids[demo.CityDepartments[2]]}
	channels := []catalogue.Channel{catalogue.ChannelPrinter, catalogue.ChannelLocalPrint, catalogue.ChannelProvincial}
	err := e.db.Update(func(tx *store.Tx) error {
		for i := range nTypes {
			definer := certseal.MakeUSCC(fmt.Sprintf("12510800MB%07d", 100+i/900))
			lt := catalogue.LicenceType{Code: fmt.Sprintf("%s%03d", definer, i%900+1), Name: fmt.Sprintf("测试证照%03d", i), DefinerName: "测试部门",
				ResponsibleOrgID: depts[i%3], HolderKind: catalogue.HolderAny, Channel: channels[i%3], SerialPrefix: "T", SerialWidth: 8}
			if _, err := catalogue.CreateTypeTx(tx, t0, certseal.System, lt); err != nil {
				return err
			}
			codes = append(codes, lt.Code)
		}
		for i := range nOrgs {
			o := certseal.Org{Name: fmt.Sprintf("测试县区%03d行政审批局", i), Kind: certseal.KindCountyBureau, AreaCode: "510802",
				USCC: certseal.MakeUSCC(fmt.Sprintf("11510802MB%07d", 5000+i))}
			o, err := orgs.Create(tx, t0, certseal.System, o)
			if err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	req := demand.RoundRequest{Kind: demand.Yearly, Year: 2026, Deadline: deadline, Participants: ids}
	for _, c := range codes {
		req.Types = append(req.Types, demand.RoundTypeRequest{Code: c})
	}
	r := must(e.svc.OpenRound(ctx, e.admin, req))
	rng := rand.New(rand.NewSource(1))
	err = e.db.Update(func(tx *store.Tx) error {
		for _, p := range r.Participants {
			f := demand.Filing{RoundID: r.ID, OrgID: p.OrgID, OrgName: p.OrgName, OrgKind: p.Kind, Status: demand.Approved,
				Contact: "张三", Phone: "0839-3260000", CreatedAt: t0, UpdatedAt: t0}
			for _, t := range r.Types {
				q := rng.Int63n(500)
				h := []int64{rng.Int63n(500), rng.Int63n(500), rng.Int63n(500)}
				stock := rng.Int63n(100)
				sug := demand.Suggest(h, stock)
				f.Lines = append(f.Lines, demand.Line{TypeCode: t.Code, TypeName: t.Name, Quantity: q, Approved: q, LastYearUse: h[0],
					InStock: stock, UseHistory: h, Suggested: sug, Flagged: demand.Flag(q, sug), Reason: "业务量增长"})
			}
			if err := demand.InsertFilingTx(tx, &f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return e, r
}

// BenchmarkSummary aggregates a round of 200 organisations × 300 licence types (60,000 lines).
func BenchmarkSummary(b *testing.B) {
	e, r := bigRound(b, 200, 300)
	b.ResetTimer()
	for b.Loop() {
		s, err := e.svc.Summary(ctx, e.admin, r.ID)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Types) != 300 || len(s.Types[0].Rows) != 200 {
			b.Fatalf("got %d types, %d rows", len(s.Types), len(s.Types[0].Rows))
		}
	}
}

// BenchmarkFulfilment is the fulfilment view of the same round (the aggregate plus the ledger's
// distributions of the three departments).
func BenchmarkFulfilment(b *testing.B) {
	e, r := bigRound(b, 200, 300)
	e.clock.Set(t0.Add(time.Hour))
	b.ResetTimer()
	for b.Loop() {
		fu, err := e.svc.Fulfilment(ctx, e.admin, r.ID)
		if err != nil {
			b.Fatal(err)
		}
		if len(fu.Rows) == 0 {
			b.Fatal("no rows")
		}
	}
}

// BenchmarkReportPDF writes the PDF report of a round of 40 organisations × 12 licence types
// (480 table rows over some fifteen pages).
func BenchmarkReportPDF(b *testing.B) {
	e, r := bigRound(b, 40, 12)
	s, err := e.svc.Summary(ctx, e.admin, r.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		var buf bytes.Buffer
		if err := demand.WriteSummaryPDF(&buf, s, demo.CityCenterName); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

package app

import (
	"context"
	"fmt"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/inventory"
)

// demoStock receives blank forms at the three city departments, each by its type's channel, and
// distributes a range of each to every county bureau, so that window clerks can issue paper
// certificates at once.
func demoStock(svc *inventory.Service, res demo.Result) error {
	ctx := context.Background()
	plans := []struct {
		dept, typ, prefix string
		width             int
		total, each       int
		r                 inventory.Receipt
	}{
		{"广元市市场监督管理局", demo.TypeFood, "SC", 8, 10000, 500, inventory.Receipt{Channel: catalogue.ChannelPrinter,
			Supplier: "成都川印证件印务有限公司", Contract: "GYSJ-2026-001", UnitCostFen: 120}},
		{"广元市住房和城乡建设局", demo.TypeConstruction, "JZ", 7, 2000, 100, inventory.Receipt{Channel: catalogue.ChannelProvincial,
			ProvincialDept: "四川省住房和城乡建设厅", Document: "川建证领〔2026〕3号"}},
		{"广元市交通运输局", demo.TypeRoadTransport, "DY", 8, 5000, 200, inventory.Receipt{Channel: catalogue.ChannelLocalPrint,
			Batch: "广交印〔2026〕1批"}},
	}
	for _, p := range plans {
		dept := certseal.Actor{UserID: certseal.System.UserID, Username: "system", OrgID: res.Orgs[p.dept], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleDeptOfficer}
		serial := func(n int) string { return fmt.Sprintf("%s%0*d", p.prefix, p.width, n) }
		r := p.r
		r.TypeCode, r.First, r.Last = p.typ, serial(1), serial(p.total)
		if _, err := svc.Receive(ctx, dept, r); err != nil {
			return fmt.Errorf("demo stock %s: %w", p.typ, err)
		}
		for i, b := range demo.Bureaus {
			first := i*p.total/len(demo.Bureaus) + 1
			t := inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: p.typ, ToOrgID: res.Orgs[b.Name],
				Ranges: []inventory.SerialRange{{First: serial(first), Last: serial(first + p.each - 1)}}, Document: "2026年度空白证照下发"}
			if _, err := svc.Transfer(ctx, dept, t); err != nil {
				return fmt.Errorf("demo distribution %s to %s: %w", p.typ, b.Name, err)
			}
		}
	}
	return nil
}

package demand

import (
	"context"
	"time"

	"certseal"
	"certseal/inventory"
)

// NewLedger returns the Ledger over the blank-form ledger's service. It reads as the system
// actor (an administrator), since demand decides itself who may see what.
func NewLedger(svc *inventory.Service) Ledger { return inventoryLedger{svc} }

type inventoryLedger struct{ svc *inventory.Service }

func (l inventoryLedger) InStock(ctx context.Context, orgID string) (map[string]int64, error) {
	lines, err := l.svc.Stock(ctx, certseal.System, inventory.StockQuery{HolderID: orgID, State: inventory.InStock, RangeLimit: 1})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(lines))
	for _, x := range lines {
		if x.HolderID == orgID {
			out[x.TypeCode] += int64(x.Count)
		}
	}
	return out, nil
}

func (l inventoryLedger) Consumed(ctx context.Context, orgID, typeCode string, from, to time.Time) (int64, error) {
	r, err := l.svc.Reconcile(ctx, certseal.System, orgID, typeCode, from, to)
	if err != nil {
		return 0, err
	}
	return r.Used + r.Voided, nil
}

func (l inventoryLedger) Distributions(ctx context.Context, fromOrgID string, since, until time.Time) ([]Distribution, error) {
	var out []Distribution
	f := inventory.MovementFilter{HolderID: fromOrgID, Kind: inventory.KindDistribution, From: since, To: until}
	var before uint64
	for {
		ms, next, err := l.svc.Movements(ctx, certseal.System, f, before, inventory.MaxPageSize)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.FromOrgID == fromOrgID {
				out = append(out, Distribution{MovementID: m.ID, FromOrgID: m.FromOrgID, ToOrgID: m.ToOrgID,
					TypeCode: m.TypeCode, Count: int64(m.Count), Time: m.Time})
			}
		}
		if next == 0 {
			return out, nil
		}
		before = next
	}
}

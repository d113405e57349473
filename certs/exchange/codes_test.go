package exchange_test

import (
	"testing"

	"certseal/certs"
	"certseal/certs/exchange"
)

// TestOpTableCoversEveryOperation: every operation certs records has one row of the code table,
// codes are unique, and a row with a national code (01-10) carries the code certs records.
func TestOpTableCoversEveryOperation(t *testing.T) {
	codes, ops := map[string]bool{}, map[string]bool{}
	for _, o := range exchange.Ops {
		if codes[o.Code] || ops[o.Op] {
			t.Fatalf("code %s or op %s twice", o.Code, o.Op)
		}
		codes[o.Code], ops[o.Op] = true, true
		if o.Op == "new_version" {
			continue
		}
		c, ok := certs.OperationCode(o.Op)
		if !ok {
			t.Fatalf("row %s names %s, which certs does not know", o.Code, o.Op)
		}
		if c.Code != o.National || (c.National && o.Code != c.Code) {
			t.Errorf("row %s (%s): national code %s, certs records %s", o.Code, o.Op, o.National, c.Code)
		}
	}
	for _, op := range append(certs.Ops(), "issue", "superseded") {
		if !ops[op] {
			t.Errorf("operation %s has no row in the exchange's code table", op)
		}
	}
}

package app

import (
	"sync"

	"certseal/inventory/demand"
	"certseal/server"
)

// demandParts holds each App's demand service, keyed by *App.
var demandParts sync.Map // *App -> *demand.Service

// Demand returns the App's annual-demand service, or nil after Close.
func (a *App) Demand() *demand.Service {
	if s, ok := demandParts.Load(a); ok {
		return s.(*demand.Service)
	}
	return nil
}

// openDemand wires the annual demand rounds over the blank-form ledger and the catalogue. It runs
// after openInventory.
func (a *App) openDemand() error {
	svc := &demand.Service{DB: a.DB, Clock: a.Clock, Ledger: demand.NewLedger(a.Inventory()), Catalogue: a.Catalogue}
	demandParts.Store(a, svc)
	a.Server.Extra = append(a.Server.Extra, server.NewDemandAPI(svc, a.Orgs))
	a.closers = append(a.closers, func() error { demandParts.Delete(a); return nil })
	return nil
}

package app

// openDemand wires the demand part: its service, its HTTP module (a.Server.Extra), and its demo
// and init steps (a.demoSteps, a.initSteps).
func (a *App) openDemand() error { return nil }

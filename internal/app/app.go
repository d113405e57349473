// Package app wires certseal's services together: it opens the store and builds every service
// and the HTTP server from a Config. cmd/certseal and the end-to-end tests use the same wiring.
package app

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/server"
)

// Config is what the service is configured with.
type Config struct {
	Addr   string // listen address
	Data   string // data directory
	Demo   bool   // load the demo data at start
	NoSync bool   // skip fsync on commit (tests and benchmarks only)
	Log    io.Writer
	Clock  certseal.Clock // nil: the system clock
	// PushAllow lets webhooks reach private networks and hosts (CIDRs, addresses, host names;
	// see push.ParseAllow); by default they reach public addresses only.
	PushAllow []string
	// Passwords bound the password checks and the guessing per address; Auth limits sign-ins,
	// token creation and web sessions (zero fields: the defaults).
	Passwords orgs.PasswordLimits
	Auth      server.AuthLimits
}

// DBPath returns the database file inside the data directory.
func (c *Config) DBPath() string { return filepath.Join(c.Data, store.FileName) }

// App is the wired service.
type App struct {
	Config    Config
	DB        *store.DB
	Clock     certseal.Clock
	Log       *slog.Logger
	Orgs      *orgs.Service
	Catalogue *catalogue.Service
	Server    *server.Server

	demoSteps []demo.Step
	// demoAfter runs after the demo transaction committed, through the services (stock
	// movements, say), only when the demo data was loaded by this call.
	demoAfter []func(res demo.Result) error
	initSteps []func(w io.Writer) error
	closers   []func() error
}

// Open opens the database in c.Data (creating it when needed) and wires the services. It returns
// an error when the database cannot be opened or migrated.
func Open(c Config) (*App, error) {
	db, err := store.Open(c.DBPath(), &store.Options{NoSync: c.NoSync, Timeout: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	clock := c.Clock
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	log := slog.New(slog.NewJSONHandler(c.Log, nil))
	a := &App{Config: c, DB: db, Clock: clock, Log: log}
	a.Orgs = &orgs.Service{DB: db, Clock: clock, Limits: c.Passwords}
	a.Catalogue = &catalogue.Service{DB: db, Clock: clock}
	a.Server = server.New(db, a.Orgs, a.Catalogue, clock, log)
	a.Server.Audit = &audit.Service{DB: db}
	a.Server.Auth = c.Auth
	// Each part beyond the foundation wires itself in its own file of this package: it builds
	// its service, appends its HTTP module to a.Server.Extra, and may add demo and init steps.
	for _, open := range []func() error{a.openSeals, a.openTemplates, a.openInventory, a.openDemand, a.openCerts, a.openWeb} {
		if err := open(); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// LoadDemo adds the demo data once and returns what it did.
func (a *App) LoadDemo() (demo.Result, error) {
	res, err := demo.Load(a.DB, a.Clock.Now(), a.demoSteps...)
	if err != nil || !res.Loaded {
		return res, err
	}
	for _, st := range a.demoAfter {
		if err := st(res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Init runs the parts' first-start steps (creating the CA, say) after `certseal init` has
// created the city center and its administrator, writing what it did to w.
func (a *App) Init(w io.Writer) error {
	for _, st := range a.initSteps {
		if err := st(w); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the parts' background work and closes the database.
func (a *App) Close() error {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	return a.DB.Close()
}

// TuneGC sets the garbage collector for certseal's load unless GOGC is set: issuing allocates a
// few hundred kilobytes per certificate that die at once while the live heap stays small (under
// 30 MiB), so the default GOGC=100 collects very often. GOGC=400 raises issuing throughput by
// about a fifth (BenchmarkIssueHTTP: 359 → 435 certificates/s, p99 81 → 66 ms, same machine), and
// a soft memory limit of 1 GiB keeps the heap bounded all the same.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

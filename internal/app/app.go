// Package app wires certseal's services together: it opens the store and builds every service
// and the HTTP server from a Config. cmd/certseal and the end-to-end tests use the same wiring.
package app

import (
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"certseal"
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
	a.Orgs = &orgs.Service{DB: db, Clock: clock}
	a.Catalogue = &catalogue.Service{DB: db, Clock: clock}
	a.Server = server.New(db, a.Orgs, a.Catalogue, clock, log)
	return a, nil
}

// DemoSteps are the demo-data steps of the parts beyond the foundation, run by LoadDemo.
func (a *App) DemoSteps() []demo.Step { return nil }

// LoadDemo adds the demo data once and returns what it did.
func (a *App) LoadDemo() (demo.Result, error) {
	return demo.Load(a.DB, a.Clock.Now(), a.DemoSteps()...)
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

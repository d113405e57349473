// Package app wires certseal's services together: Open opens the store and builds every service
// (a field of App each) and the HTTP server from a Config, which cmd/certseal fills from the
// flags and the environment. cmd/certseal and the end-to-end tests use the same wiring.
package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/certs/exchange"
	"certseal/certs/push"
	"certseal/certs/use"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/docstore"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/inventory/demand"
	"certseal/seals"
	"certseal/server"
	"certseal/server/web"
	"certseal/templates"
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
	// PublicURL is the public base URL that verification links (and QR codes) point at, e.g.
	// https://zwfw.cngy.gov.cn (env CERTSEAL_PUBLIC_URL); "" means http://<Addr>.
	PublicURL string
	// MasterKey is the master key, 64 hexadecimal digits or base64 (env CERTSEAL_MASTER_KEY);
	// "" (or blank) means the key file MasterKeyFile in Data.
	MasterKey string
	// GC tunes the garbage collector when Open runs (zero fields: as the runtime has it).
	GC GC
	// MetricsAllow is a comma-separated list of CIDR ranges and addresses that may read
	// /metrics without a token (else the administrator's token is needed).
	MetricsAllow string
	// LogLevel is the lowest level logged (the zero value: info).
	LogLevel slog.Level
	// TSA is the time-stamp authority issuing uses (tsa.go): "" or "none", "builtin" (the city
	// center's own, also served at POST /tsa), or the URL of an external RFC 3161 TSA, whose CA
	// certificates are TSACA (PEM); TSATimeout bounds a request (0: 5 s). PAdESLevel is B-B,
	// B-T, B-LT or B-LTA; "" is B-LT with a TSA and the plain signature without.
	TSA        string
	TSACA      []byte
	TSATimeout time.Duration
	PAdESLevel string
	// Store is the database engine: "" or "bbolt" (the file in Data, one node) or "etcd" (the
	// cluster Etcd names, several nodes; see docs/cluster.md).
	Store string
	Etcd  store.EtcdOptions
	// S3 names the object store the documents go to (a cluster needs one); an empty Endpoint
	// keeps them in files under Data.
	S3 docstore.S3Options
	// ConsentTTL is how long a holder's consent code for a use (用证授权码) is valid (0: 10
	// minutes; at most an hour).
	ConsentTTL time.Duration
}

// Clustered reports whether the configuration is for a node of a cluster (the etcd engine).
func (c *Config) Clustered() bool { return c.Store == "etcd" }

// DBPath returns the database file inside the data directory.
func (c *Config) DBPath() string { return filepath.Join(c.Data, store.FileName) }

// DocsPath returns the document directory inside the data directory (the signed PDFs, by their
// SHA-256).
func (c *Config) DocsPath() string { return filepath.Join(c.Data, docstore.DirName) }

// App is the wired service: the store, every service (one field each, built by Open in
// dependency order) and the HTTP server over them.
type App struct {
	Config Config
	DB     *store.DB
	Docs   *docstore.Dir // the document files (nil when they are in an object store)
	// Documents is where the documents the database refers to are: Docs, or the object store.
	Documents docstore.Store
	Clock     certseal.Clock
	Log       *slog.Logger

	Orgs      *orgs.Service
	Catalogue *catalogue.Service
	Audit     *audit.Service
	// Seals is the seal registry: the seals, their keys and the root CA, all sealed under the
	// master key.
	Seals *seals.Registry
	// Templates holds the template versions (built-ins plus uploads); Renderer is the one
	// shared certificate renderer (the font is parsed once per process).
	Templates *templates.Store
	Renderer  *templates.Renderer
	Inventory *inventory.Service // the blank-form ledger
	Demand    *demand.Service    // the annual demand rounds
	Certs     *certs.Service     // issuance, lifecycle, verification, the status list
	Batches   *certs.Batches     // batch issuance (at most two batches at a time)
	Push      *push.Pusher       // the result push (审批结果推送)
	Use       *use.Service       // use by other departments (用证): consents, uses, copies
	Exchange  *exchange.Service  // the exchange with the provincial platform (与省平台交换)
	Web       *web.Web           // the web pages
	Server    *server.Server
	// Metrics is the Prometheus registry behind /metrics (cmd/app/metrics.go).
	Metrics *server.Metrics

	// DemoPasswords holds the passwords generated for the demo users when this App loaded the
	// demo data with Config.Demo set (`certseal serve -demo`), by username; nil otherwise. They
	// are never fixed in code, and only their argon2id hashes are stored.
	DemoPasswords map[string]string

	masterKeyCreated bool           // Open created the master key file
	tsaReport        tsaReport      // the time-stamp authority, for /readyz (tsa.go)
	closers          []func() error // stop the background work, in reverse order
}

// Open opens the database in c.Data (creating it when needed) and wires the services. It returns
// an error when the database cannot be opened or migrated, when the master key is missing or
// wrong (see openSeals), and when c.PushAllow is malformed.
func Open(c Config) (*App, error) {
	db, docs, documents, err := openStorage(c)
	if err != nil {
		return nil, err
	}
	TuneGC(c.GC)
	if c.Log == nil {
		c.Log = io.Discard
	}
	clock := c.Clock
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	log := slog.New(slog.NewJSONHandler(c.Log, &slog.HandlerOptions{Level: c.LogLevel}))
	a := &App{Config: c, DB: db, Docs: docs, Documents: documents, Clock: clock, Log: log}
	if err := a.wire(); err != nil {
		db.Close()
		return nil, err
	}
	a.start()
	return a, nil
}

// wire builds the services, each over the ones before it, and the HTTP server with one module
// per part (in this order: /certificates/batch is routed before /certificates/{id}).
func (a *App) wire() error {
	c, db, clock := a.Config, a.DB, a.Clock
	c.Auth.Share = clusterShare(db) // on a cluster the per-address limits are split between the nodes
	a.Orgs = &orgs.Service{DB: db, Clock: clock, Limits: c.Passwords}
	a.Catalogue = &catalogue.Service{DB: db, Clock: clock}
	a.Audit = &audit.Service{DB: db}
	reg, created, err := openSeals(db, c, clock)
	if err != nil {
		return err
	}
	if created {
		a.Log.Info("created the master key file; keep a copy apart from the database backups", "path", filepath.Join(c.Data, MasterKeyFile))
	}
	a.Seals, a.masterKeyCreated = reg, created
	tsaAPI, err := a.wireTSA()
	if err != nil {
		return err
	}
	a.Templates, a.Renderer = templates.NewStore(db, clock), templates.NewRenderer()
	a.Inventory = &inventory.Service{DB: db, Clock: clock, LicenceNumber: licenceNumber}
	a.Demand = &demand.Service{DB: db, Clock: clock, Ledger: demand.NewLedger(a.Inventory), Catalogue: a.Catalogue}
	a.Certs = &certs.Service{DB: db, Clock: clock, Seals: a.Seals, Templates: a.Templates, Validator: a.Seals,
		Renderer: a.Renderer, Docs: a.Documents, BaseURL: publicURL(c), Log: a.Log}
	a.Batches = certs.NewBatches(a.Certs)
	a.Push = push.New(a.Certs)
	a.Push.Box = a.Seals.Keyring() // webhook secrets are stored sealed under the master key
	if err := a.Push.SetAllow(c.PushAllow); err != nil {
		return err
	}
	a.Certs.Notify = a.Push.Wake // the pusher wakes after every commit that appends outbox events
	a.wireUse()
	a.Exchange = &exchange.Service{DB: db, Clock: clock}
	a.Web = web.NewWeb(web.Web{
		Orgs: a.Orgs, Catalogue: a.Catalogue, Inventory: a.Inventory, Certs: a.Certs, Batches: a.Batches, Seals: a.Seals,
		Templates: a.Templates, Renderer: a.Renderer, Demand: a.Demand, Audit: a.Audit, Clock: clock, Log: a.Log,
		CityName: demo.CityCenterName, Auth: c.Auth, Use: a.Use, Exchange: a.Exchange,
	})

	a.Server = server.New(db, a.Orgs, a.Catalogue, clock, a.Log)
	a.Server.Auth = c.Auth
	a.Server.Audit = a.Audit
	certsAPI := certAPI(a.Certs, a.Seals, c.Auth.Share)
	certsAPI.Copies = a.Use // a purpose-stamped copy verifies as a copy (加注件)
	a.Server.Extra = []server.Module{
		server.NewSealAPI(a.Seals, clock),
		server.NewTemplateAPI(a.Templates, a.Renderer, clock).WithCatalogue(a.Catalogue),
		server.NewCalibrationAPI(a.Orgs, clock),
		server.NewInventoryAPI(a.Inventory, a.Catalogue, a.Orgs, clock),
		server.NewDemandAPI(a.Demand, a.Orgs),
		server.NewBatchAPI(a.Certs, a.Batches),
		certsAPI,
		server.NewPushAPI(a.Push),
		server.NewUseAPI(a.Use),
		server.NewExchangeAPI(a.Exchange, a.Catalogue),
		tsaAPI,
		a.Web,
	}
	a.Server.TSA = a.tsaReport
	a.Web.API = a.Server // the pages take their roles from the API's role table
	if s3, ok := a.Documents.(*docstore.S3); ok {
		a.Server.ReadyChecks = append(a.Server.ReadyChecks, server.ReadyCheck{Name: "object store", Check: s3.Ready})
	}
	return a.wireMetrics()
}

// start runs the background work until Close: the hourly expiry sweep, the document migration
// and collection, the batch runner
// (unfinished batches resume) and the pusher.
func (a *App) start() {
	a.run(a.expirySweep)
	if a.tsaReport.level == seals.LevelBLTA {
		a.run(a.retimestampSweep) // B-LTA: renew document timestamps before they expire (tsa.go)
	}
	a.run(a.documents)
	a.run(a.Batches.Run)
	a.run(a.Push.Run)
}

// run runs f in a goroutine until Close cancels its context, and makes Close wait for it.
func (a *App) run(f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	a.closers = append(a.closers, func() error {
		cancel()
		<-done
		return nil
	})
}

// LoadDemo adds the demo data once and returns what it did: the organisations, users and
// licence types, one dedicated approval seal per county bureau (in the demo transaction), then,
// through the services, blank-form stock at every bureau and (with Config.Demo) generated
// passwords.
func (a *App) LoadDemo() (demo.Result, error) {
	res, err := demo.Load(a.DB, a.Clock.Now(), demoSeals(a.Seals), demoCenterSeal(a.Seals))
	if err != nil || !res.Loaded {
		return res, err
	}
	if err := demoStock(a.Inventory, res); err != nil {
		return res, err
	}
	if err := a.demoPasswords(res); err != nil {
		return res, err
	}
	return res, nil
}

// Init runs the first-start steps after `certseal init` has created the city center and its
// administrator (it says whether it created the master key file, and creates the root CA when
// there is none), writing what it did to w.
func (a *App) Init(w io.Writer) error { return a.initCA(w) }

// Close stops the background work and closes the database.
func (a *App) Close() error {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
	return a.DB.Close()
}

// GC is how the garbage collector is tuned; a zero field leaves that setting as the runtime has
// it (from GOGC and GOMEMLIMIT, say).
type GC struct {
	Percent     int   // debug.SetGCPercent
	MemoryLimit int64 // debug.SetMemoryLimit, in bytes
}

// DefaultGC is the garbage collector setting for certseal's load, used unless GOGC (for Percent)
// or GOMEMLIMIT (for MemoryLimit) is set: issuing allocates a few hundred kilobytes per
// certificate that die at once while the live heap stays small (under 30 MiB), so the default
// GOGC=100 collects very often. GOGC=400 raises issuing throughput by about a fifth
// (BenchmarkIssueHTTP: 359 → 435 certificates/s, p99 81 → 66 ms, same machine), and a soft
// memory limit of 1 GiB keeps the heap bounded all the same.
var DefaultGC = GC{Percent: 400, MemoryLimit: 1 << 30}

// GCFor returns DefaultGC less the settings the runtime was given in the environment: gogc and
// gomemlimit are the values of GOGC and GOMEMLIMIT ("" when unset).
func GCFor(gogc, gomemlimit string) GC {
	g := DefaultGC
	if gogc != "" {
		g.Percent = 0
	}
	if gomemlimit != "" {
		g.MemoryLimit = 0
	}
	return g
}

// TuneGC applies g to the process's garbage collector, leaving its zero fields alone.
func TuneGC(g GC) {
	if g.Percent != 0 {
		debug.SetGCPercent(g.Percent)
	}
	if g.MemoryLimit != 0 {
		debug.SetMemoryLimit(g.MemoryLimit)
	}
}

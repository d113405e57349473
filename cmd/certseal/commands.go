package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app"
	"certseal/internal/audit"
	"certseal/internal/demo"
	"certseal/internal/docstore"
	"certseal/internal/store"
	"certseal/inventory"
)

// serveOpts are the serve settings that do not go into app.Config.
type serveOpts struct {
	pushAllow, tlsCert, tlsKey, redirectHTTP, logLevel, tsaCA, tsaTimeout string
	fullCheck                                                             bool
	backup                                                                backupOpts
	cluster                                                               func() error // completes the cluster settings after parsing
}

// serveFlags returns the flag set of serve, filling c and the returned options; every flag is
// also a config file key and an environment variable (parseLayered).
func serveFlags(stderr io.Writer, c *app.Config) (*flag.FlagSet, *serveOpts) {
	o := &serveOpts{}
	fs := newFlags("serve", stderr, c)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&c.Demo, "demo", false, "add the Guangyuan demo data (once)")
	fs.BoolVar(&c.NoSync, "nosync", false, "skip fsync on commit (benchmarks only: a crash may lose the last commits)")
	fs.StringVar(&o.pushAllow, "push-allow", "", "private networks and hosts webhooks may reach, comma-separated CIDRs, addresses or host names (*.example.gov.cn for every name under it); by default public addresses only")
	fs.BoolVar(&o.fullCheck, "full-check", false, "read the whole database file and check it before starting (the quick check of its structure always runs)")
	fs.StringVar(&c.PublicURL, "public-url", "", "the public base URL verification links and QR codes point at, e.g. https://zwfw.cngy.gov.cn; by default http(s)://ADDR")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS (TLS 1.2+) with this certificate chain (PEM); reloaded with its key on SIGHUP")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the private key (PEM) of -tls-cert")
	fs.StringVar(&o.redirectHTTP, "redirect-http", "", "with TLS: also listen on this address for plain HTTP and redirect every request to HTTPS (e.g. :80)")
	fs.StringVar(&c.MetricsAllow, "metrics-allow", "", "address ranges that may read /metrics without a token, comma-separated CIDRs or addresses; elsewhere an administrator's token is needed")
	fs.StringVar(&o.logLevel, "log-level", "info", "the lowest level logged: debug, info, warn or error")
	fs.StringVar(&c.TSA, "tsa", "none", "time-stamp authority for issuing: none, builtin (the city center's own, served at POST /tsa) or the URL of an RFC 3161 TSA")
	fs.StringVar(&o.tsaCA, "tsa-ca", "", "PEM file of the external TSA's CA certificate(s)")
	fs.StringVar(&o.tsaTimeout, "tsa-timeout", "5s", "how long an issue waits for a timestamp before it fails")
	fs.StringVar(&c.PAdESLevel, "pades-level", "", "PAdES level: B-B, B-T, B-LT or B-LTA; default B-LT with a TSA")
	fs.DurationVar(&c.ConsentTTL, "consent-ttl", 10*time.Minute, "how long a holder's consent code for a using department (用证授权码) is valid, 1m to 1h")
	o.backup.flags(fs)
	o.cluster = clusterFlags(fs, c)
	return fs, o
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs, o := serveFlags(stderr, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := o.cluster(); err != nil {
		return err
	}
	if o.pushAllow != "" {
		c.PushAllow = []string{o.pushAllow}
	}
	if c.ConsentTTL < time.Minute || c.ConsentTTL > time.Hour {
		return fmt.Errorf("-consent-ttl %v: want a duration between 1m and 1h, e.g. 10m", c.ConsentTTL)
	}
	if err := c.LogLevel.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level %q: want debug, info, warn or error", o.logLevel)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("give both -tls-cert and -tls-key (or neither)")
	}
	if o.redirectHTTP != "" && o.tlsCert == "" {
		return errors.New("-redirect-http needs -tls-cert and -tls-key")
	}
	var certs *certReloader
	scheme := "http"
	if o.tlsCert != "" {
		var err error
		if certs, err = newCertReloader(o.tlsCert, o.tlsKey); err != nil {
			return err
		}
		scheme = "https"
		if c.PublicURL == "" {
			c.PublicURL = "https://" + c.Addr
		}
	}
	if err := o.backup.check(); err != nil {
		return err
	}
	if err := tsaConfig(&c, o.tsaCA, o.tsaTimeout); err != nil {
		return err
	}
	if o.fullCheck && !c.Clustered() {
		if err := store.CheckFile(c.DBPath(), store.CheckFull); err != nil {
			return err
		}
	}
	c.Log = stderr
	a, err := app.Open(c)
	if err != nil {
		return err
	}
	defer a.Close()
	if c.Demo {
		res, err := a.LoadDemo()
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if res.Loaded {
			printLogins(stdout, res.Logins)
		} else {
			fmt.Fprintln(stdout, "demo data already loaded; tokens were printed when it was first loaded (create new ones with POST /api/v1/tokens)")
		}
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	// Every log line is JSON through the service's logger: the slog default (and with it the
	// log package's default logger) and net/http's own error log.
	slog.SetDefault(a.Log)
	srv := &http.Server{ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelError)}
	runCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
		certs.watchHUP(runCtx, a.Log)
		if o.redirectHTTP != "" {
			rl, err := net.Listen("tcp", o.redirectHTTP)
			if err != nil {
				ln.Close()
				return err
			}
			redirectServer(runCtx, rl, ln.Addr(), a.Log)
			fmt.Fprintf(stdout, "redirecting http://%s to https\n", rl.Addr())
		}
	}
	if err := o.backup.start(runCtx, a); err != nil {
		ln.Close()
		return err
	}
	a.Log.Info("listening", "addr", ln.Addr().String(), "tls", certs != nil, "data", c.Data)
	fmt.Fprintf(stdout, "certseal listening on %s://%s (data %s); web pages at %s://%s/login\n", scheme, ln.Addr(), c.Data, scheme, ln.Addr())
	return a.Server.Run(ctx, ln, srv)
}

func printLogins(w io.Writer, logins []demo.Login) {
	fmt.Fprintln(w, "demo data loaded. API tokens and web passwords (shown once; only their hashes are stored):")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tORGANISATION\tTOKEN\tPASSWORD")
	for _, l := range logins {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Username, l.Role, l.OrgName, l.Token, l.Password)
	}
	tw.Flush()
}

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("init", stderr, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := app.Open(c)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Orgs.InitAdmin(ctx, demo.CityCenterOrg(), certseal.User{Username: "admin", Name: "系统管理员", Role: certseal.RoleAdmin}, "init")
	if err != nil {
		return err
	}
	if err := a.Init(stderr); err != nil {
		return err
	}
	if res.Created {
		fmt.Fprintf(stderr, "created the city center and its administrator \"admin\" in %s\n", c.DBPath())
	} else {
		fmt.Fprintf(stderr, "database %s already initialised; issued a new token for \"admin\"\n", c.DBPath())
	}
	fmt.Fprintln(stderr, "administrator API token (shown once):")
	fmt.Fprintln(stdout, res.Token)
	return nil
}

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("backup", stderr, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: certseal backup [-data DIR] FILE")
		return errUsage
	}
	db, err := store.Open(c.DBPath(), &store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := writeArchiveFile(ctx, db, docstore.OpenReadOnly(c.DocsPath()), fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s (the database and %d documents)\n", fs.Arg(0), n)
	return nil
}

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: certseal audit verify [-data DIR]")
		return errUsage
	}
	var c app.Config
	fs := newFlags("audit verify", stderr, &c)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	db, err := store.Open(c.DBPath(), &store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := verifyAudit(db)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("audit chain broken at event %d: %s (%d events verified before it)", res.Broken, res.Reason, res.Events)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d events\n", res.Events)
	return nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("check", stderr, &c)
	cluster := clusterFlags(fs, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cluster(); err != nil {
		return err
	}
	if c.Clustered() {
		return checkCluster(ctx, c, stdout)
	}
	db, err := store.Open(c.DBPath(), &store.Options{ReadOnly: true, Check: store.CheckFull})
	if errors.Is(err, store.ErrCorrupt) {
		fmt.Fprintf(stdout, "database file: %v\n", err)
		return errors.New("1 problems found: the database file is damaged")
	}
	if err != nil {
		return err
	}
	defer db.Close()
	docs := docstore.OpenReadOnly(c.DocsPath())
	problems, err := runChecks(ctx, db, docs, func(d string) string { return docs.Path(d) }, stdout)
	if err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("%d problems found", problems)
	}
	return nil
}

// runChecks runs the checks of `certseal check` on an open database (the file itself was checked
// when it was opened) and the documents in docs (where names a document for the report),
// reporting to stdout, and returns the number of problems found.
func runChecks(ctx context.Context, db *store.DB, docs docstore.Store, where func(digest string) string, stdout io.Writer) (int, error) {
	res, err := verifyAudit(db)
	if err != nil {
		return 0, err
	}
	problems := 0
	if !res.OK {
		fmt.Fprintf(stdout, "audit chain broken at event %d: %s\n", res.Broken, res.Reason)
		problems++
	} else {
		fmt.Fprintf(stdout, "audit chain intact: %d events\n", res.Events)
	}
	ledger := &inventory.Service{DB: db, Clock: certseal.SystemClock{}}
	if err := ledger.Verify(ctx); err != nil {
		fmt.Fprintf(stdout, "blank-form ledger: %v\n", err)
		problems++
	} else {
		fmt.Fprintln(stdout, "blank-form ledger: ranges disjoint, counters and totals balance")
	}
	bad, n, err := certs.CheckConsistency(ctx, db, docs, ledger)
	if err != nil {
		return problems, err
	}
	orphans, err := certs.Orphans(ctx, db, docs)
	if err != nil {
		return problems, err
	}
	for _, d := range orphans {
		fmt.Fprintf(stdout, "document %s: no certificate refers to it (an orphan left by a crash or a failed commit, not damage; the service removes it after an hour)\n", where(d))
	}
	fmt.Fprintf(stdout, "documents: every certificate's document checked against its SHA-256 above; %d orphaned files\n", len(orphans))
	for _, p := range bad {
		fmt.Fprintf(stdout, "certificate %s type %s serial %s holder %s: %s\n", p.CertificateID, p.TypeCode, p.Serial, p.HolderID, p.Problem)
	}
	problems += len(bad)
	fmt.Fprintf(stdout, "certificates and used blank serials: %d certificates, %d problems\n", n, len(bad))
	return problems, nil
}

func cmdCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: certseal ca import [-data DIR] [-sm2] (-cert CA.pem -key KEY.pem | -p12 CA.p12)")
		return errUsage
	}
	var c app.Config
	fs := newFlags("ca import", stderr, &c)
	certFile := fs.String("cert", "", "CA certificate (PEM)")
	keyFile := fs.String("key", "", "CA private key (PEM)")
	p12File := fs.String("p12", "", "CA certificate and key (PKCS#12); password in env CERTSEAL_P12_PASSWORD")
	sm2CA := fs.Bool("sm2", false, "import the SM2 root CA (SM2-with-SM3; -cert and -key, PEM/PKCS#8) instead of the ECDSA one")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *sm2CA && *p12File != "" {
		fmt.Fprintln(stderr, "-sm2 takes -cert and -key (PEM), not -p12")
		return errUsage
	}
	if (*p12File == "") == (*certFile == "" || *keyFile == "") {
		fmt.Fprintln(stderr, "give either -cert and -key, or -p12")
		return errUsage
	}
	a, err := app.Open(c)
	if err != nil {
		return err
	}
	defer a.Close()
	admin := certseal.Actor{UserID: certseal.System.UserID, Username: "ca-import", Role: certseal.RoleAdmin, OrgKind: certseal.KindCityCenter}
	if *sm2CA {
		cert, err := os.ReadFile(*certFile)
		if err != nil {
			return err
		}
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if err := a.Seals.ImportSM2CA(ctx, admin, cert, key); err != nil {
			return errors.New(certseal.ErrorMessage(err))
		}
		fmt.Fprintln(stdout, "SM2 root CA imported; its private key is stored sealed under the master key")
		return nil
	}
	if *p12File != "" {
		raw, err := os.ReadFile(*p12File)
		if err != nil {
			return err
		}
		err = a.Seals.ImportCAPKCS12(ctx, admin, raw, os.Getenv("CERTSEAL_P12_PASSWORD"))
		if err != nil {
			return errors.New(certseal.ErrorMessage(err))
		}
	} else {
		cert, err := os.ReadFile(*certFile)
		if err != nil {
			return err
		}
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if err := a.Seals.ImportCA(ctx, admin, cert, key); err != nil {
			return errors.New(certseal.ErrorMessage(err))
		}
	}
	fmt.Fprintln(stdout, "root CA imported; its private key is stored sealed under the master key")
	return nil
}

// verifyAudit recomputes the audit chain in one read transaction.
func verifyAudit(db *store.DB) (audit.Result, error) {
	var res audit.Result
	err := db.View(func(tx *store.Tx) error {
		var err error
		res, err = audit.Verify(tx)
		return err
	})
	return res, err
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app"
	"certseal/internal/audit"
	"certseal/internal/demo"
	"certseal/internal/docstore"
	"certseal/internal/store"
	"certseal/inventory"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("serve", stderr, &c)
	fs.StringVar(&c.Addr, "addr", envOr("CERTSEAL_ADDR", "127.0.0.1:8080"), "listen address (env CERTSEAL_ADDR)")
	fs.BoolVar(&c.Demo, "demo", false, "add the Guangyuan demo data (once)")
	fs.BoolVar(&c.NoSync, "nosync", false, "skip fsync on commit (benchmarks only: a crash may lose the last commits)")
	pushAllow := fs.String("push-allow", os.Getenv("CERTSEAL_PUSH_ALLOW"), "private networks and hosts webhooks may reach, comma-separated CIDRs, addresses or host names (env CERTSEAL_PUSH_ALLOW)")
	fullCheck := fs.Bool("full-check", os.Getenv("CERTSEAL_FULL_CHECK") == "1", "read the whole database file and check it before starting (env CERTSEAL_FULL_CHECK=1; the quick check of its structure always runs)")
	cluster := clusterFlags(fs, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cluster(); err != nil {
		return err
	}
	if *pushAllow != "" {
		c.PushAllow = []string{*pushAllow}
	}
	if *fullCheck && !c.Clustered() {
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
	fmt.Fprintf(stdout, "certseal listening on http://%s (data %s); web pages at http://%s/login\n", ln.Addr(), c.Data, ln.Addr())
	// Every log line is JSON through the service's logger: the slog default (and with it the
	// log package's default logger) and net/http's own error log.
	slog.SetDefault(a.Log)
	return a.Server.Run(ctx, ln, &http.Server{ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelError)})
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

func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("restore", stderr, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: certseal restore [-data DIR] FILE")
		return errUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := restoreArchive(ctx, f, c.Data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored the database and %d documents into %s; copy the master key there before serving\n", n, c.Data)
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
	if err := parse(fs, args); err != nil {
		return err
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
	res, err := verifyAudit(db)
	if err != nil {
		return err
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
	docs := docstore.OpenReadOnly(c.DocsPath())
	bad, n, err := certs.CheckConsistency(ctx, db, docs, ledger)
	if err != nil {
		return err
	}
	orphans, err := certs.Orphans(ctx, db, docs)
	if err != nil {
		return err
	}
	for _, d := range orphans {
		fmt.Fprintf(stdout, "document %s: no certificate refers to it (an orphan left by a crash or a failed commit, not damage; the service removes it after an hour)\n", filepath.Join(c.DocsPath(), d[:2], d))
	}
	fmt.Fprintf(stdout, "documents: every certificate's document checked against its SHA-256 above; %d orphaned files\n", len(orphans))
	for _, p := range bad {
		fmt.Fprintf(stdout, "certificate %s type %s serial %s holder %s: %s\n", p.CertificateID, p.TypeCode, p.Serial, p.HolderID, p.Problem)
	}
	problems += len(bad)
	fmt.Fprintf(stdout, "certificates and used blank serials: %d certificates, %d problems\n", n, len(bad))
	if problems > 0 {
		return fmt.Errorf("%d problems found", problems)
	}
	return nil
}

func cmdCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: certseal ca import [-data DIR] (-cert CA.pem -key KEY.pem | -p12 CA.p12)")
		return errUsage
	}
	var c app.Config
	fs := newFlags("ca import", stderr, &c)
	certFile := fs.String("cert", "", "CA certificate (PEM)")
	keyFile := fs.String("key", "", "CA private key (PEM)")
	p12File := fs.String("p12", "", "CA certificate and key (PKCS#12); password in env CERTSEAL_P12_PASSWORD")
	if err := parse(fs, args[1:]); err != nil {
		return err
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

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"certseal/cmd/app"
	"certseal/internal/docstore"
	"certseal/internal/store"
)

// Scheduled backups (serve -backup-dir DIR -backup-every 24h -backup-keep 14): each backup is
// written under a temporary name, verified (opened read-only, every page and value checked, then
// the `certseal check` logic run on it), and only then renamed to its final name; the newest
// -backup-keep verified backups are kept. The last success is logged and shown in /metrics
// and /readyz.

// backupOpts are the backup flags of serve.
type backupOpts struct {
	dir   string
	every time.Duration
	keep  int
}

func (b *backupOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&b.dir, "backup-dir", "", "take scheduled backups into this directory (created when missing); keep it on another disk than -data")
	fs.DurationVar(&b.every, "backup-every", 24*time.Hour, "with -backup-dir: the time between backups (the first is taken at start)")
	fs.IntVar(&b.keep, "backup-keep", 14, "with -backup-dir: how many verified backups to keep (the oldest are deleted)")
}

func (b *backupOpts) check() error {
	if b.dir == "" {
		return nil
	}
	if b.every < time.Minute {
		return fmt.Errorf("-backup-every %v: at least 1m", b.every)
	}
	if b.keep < 1 {
		return fmt.Errorf("-backup-keep %d: at least 1", b.keep)
	}
	return nil
}

// start runs the schedule until ctx ends, when -backup-dir is set: registers the metrics and
// the /readyz detail, and takes the first backup at once.
func (b *backupOpts) start(ctx context.Context, a *app.App) error {
	if b.dir == "" {
		return nil
	}
	if a.Config.Clustered() {
		return errors.New("-backup-dir: a cluster is backed up by an etcd snapshot and a copy of the object store, not by certseal (docs/cluster.md, Backup)")
	}
	write := func(path string) error {
		_, err := writeArchiveFile(ctx, a.DB, a.Docs, path)
		return err
	}
	s, err := newBackupScheduler(b.dir, b.keep, write, verifyBackup, a.Clock.Now, a.Log)
	if err != nil {
		return err
	}
	if a.Metrics != nil {
		a.Metrics.Registry.MustRegister(s.collectors()...)
	}
	a.Server.ReadyDetail = append(a.Server.ReadyDetail, s.readyDetail)
	go s.run(ctx, b.every)
	return nil
}

// backupPrefix and backupSuffix frame the name of a verified backup; backupPartial starts the
// name of one being written or verified.
const (
	backupPrefix  = "certseal-"
	backupSuffix  = ".tar"
	backupPartial = ".partial-"
)

// backupScheduler takes, verifies and prunes backups through two small functions: write (the
// existing consistent backup of the database, store.DB.BackupFile) and verify (open the copy
// and run the check logic), so that a backup of more than the database file (the documents
// beside it) plugs in by passing other functions.
type backupScheduler struct {
	dir    string
	keep   int
	write  func(path string) error
	verify func(ctx context.Context, path string) error
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	last     time.Time // the last verified backup
	lastPath string
	lastErr  error // of the last attempt
	failures int
}

func newBackupScheduler(dir string, keep int, write func(string) error, verify func(context.Context, string) error, now func() time.Time, log *slog.Logger) (*backupScheduler, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	s := &backupScheduler{dir: dir, keep: keep, write: write, verify: verify, now: now, log: log}
	// Partial files of an interrupted run are never backups: remove them. The newest verified
	// backup already there counts as the last success.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), backupPartial) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if names := s.backups(); len(names) > 0 {
		if fi, err := os.Stat(filepath.Join(dir, names[len(names)-1])); err == nil {
			s.last, s.lastPath = fi.ModTime(), filepath.Join(dir, names[len(names)-1])
		}
	}
	return s, nil
}

func (s *backupScheduler) run(ctx context.Context, every time.Duration) {
	for {
		s.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// once takes one backup and logs the outcome; it returns the path of the verified backup.
func (s *backupScheduler) once(ctx context.Context) (string, error) {
	start := time.Now()
	path, err := s.take(ctx)
	s.mu.Lock()
	s.lastErr = err
	if err != nil {
		s.failures++
	} else {
		s.last, s.lastPath = s.now(), path
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Error("scheduled backup failed", "dir", s.dir, "err", err)
		return "", err
	}
	s.log.Info("scheduled backup verified", "path", path, "duration_ms", time.Since(start).Milliseconds(), "keep", s.keep)
	return path, nil
}

func (s *backupScheduler) take(ctx context.Context) (string, error) {
	name := backupPrefix + s.now().UTC().Format("20060102T150405Z") + backupSuffix
	final := filepath.Join(s.dir, name)
	for i := 2; exists(final); i++ { // two backups within one second
		final = filepath.Join(s.dir, fmt.Sprintf("%s%s-%d%s", backupPrefix, s.now().UTC().Format("20060102T150405Z"), i, backupSuffix))
	}
	tmp := filepath.Join(s.dir, backupPartial+filepath.Base(final))
	defer os.Remove(tmp) // gone after the rename; removed after a failure
	if err := s.write(tmp); err != nil {
		return "", err
	}
	if err := s.verify(ctx, tmp); err != nil {
		return "", fmt.Errorf("verify %s: %w", filepath.Base(final), err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	syncDir(s.dir)
	s.prune()
	return final, nil
}

// backups returns the names of the verified backups in dir, oldest first (the names sort by
// time).
func (s *backupScheduler) backups() []string {
	entries, _ := os.ReadDir(s.dir)
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupSuffix) && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// prune deletes the oldest verified backups beyond keep.
func (s *backupScheduler) prune() {
	names := s.backups()
	for len(names) > s.keep {
		if err := os.Remove(filepath.Join(s.dir, names[0])); err != nil {
			s.log.Warn("backup prune", "err", err)
		}
		names = names[1:]
	}
}

// readyDetail is the /readyz detail of the backups.
func (s *backupScheduler) readyDetail() (string, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := map[string]any{"dir": s.dir, "keep": s.keep}
	if !s.last.IsZero() {
		d["last_success"] = s.last.UTC().Format(time.RFC3339)
		d["last_path"] = filepath.Base(s.lastPath)
	}
	if s.lastErr != nil {
		d["last_error"] = s.lastErr.Error()
	}
	return "backup", d
}

// collectors are the backup metrics.
func (s *backupScheduler) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "certseal_backup_last_success_timestamp_seconds",
			Help: "Unix time of the last verified scheduled backup (0 before the first)."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.last.IsZero() {
				return 0
			}
			return float64(s.last.UnixNano()) / 1e9
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "certseal_backup_failures_total",
			Help: "Scheduled backups that failed to be written or verified since the start."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(s.failures)
		}),
	}
}

// verifyBackup extracts a backup archive into a temporary directory beside it (every document
// checked against its digest, the database file's every page and value checked), and runs the
// check logic of `certseal check` on the copy; any finding is an error.
func verifyBackup(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := restoreArchive(ctx, f, tmp); err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(tmp, store.FileName), &store.Options{ReadOnly: true, Check: store.CheckFull})
	if err != nil {
		return err
	}
	defer db.Close()
	var report strings.Builder
	docs := docstore.OpenReadOnly(filepath.Join(tmp, docstore.DirName))
	problems, err := runChecks(ctx, db, docs, func(d string) string { return docs.Path(d) }, &report)
	if err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("%d problems: %s", problems, strings.TrimSpace(report.String()))
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// cmdRestore restores a backup into an empty data directory: certseal restore BACKUP -data DIR.
// It verifies the backup first and refuses a directory that holds anything.
func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("restore", stderr, &c)
	var flagArgs, pos []string
	for i := 0; i < len(args); i++ { // the backup may come before or after the flags
		if strings.HasPrefix(args[i], "-") {
			flagArgs = append(flagArgs, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flagArgs = append(flagArgs, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, args[i])
	}
	if err := parse(fs, flagArgs); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: certseal restore BACKUP -data DIR")
		return errUsage
	}
	if err := restoreBackup(ctx, pos[0], c.Data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s; put the master key beside it (%s, or CERTSEAL_MASTER_KEY) before starting\n", pos[0], c.Data, app.MasterKeyFile)
	return nil
}

// restoreBackup verifies the backup and copies it into dir as the database file. It refuses a
// dir that exists and is not empty, and never overwrites a file.
func restoreBackup(ctx context.Context, backup, dir string) error {
	if err := verifyBackup(ctx, backup); err != nil {
		return fmt.Errorf("backup %s: %w", backup, err)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty: restore only into an empty directory (nothing was changed)", dir)
	}
	src, err := os.Open(backup)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := restoreArchive(ctx, src, dir); err != nil {
		return err
	}
	return nil
}

package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"certseal/internal/store"
	"certseal/internal/store/etcdtest"
)

// engine is one engine of the store's test table: where makes a new place for a database, open
// opens (or reopens) the database at a place.
type engine struct {
	name  string
	where func(t testing.TB) string
	open  func(t testing.TB, at string) (*store.DB, error)
}

var etcdPrefixes atomic.Int64

// engines is the table every engine-neutral test of this package runs over.
var engines = []engine{
	{"bbolt",
		func(t testing.TB) string { return filepath.Join(t.TempDir(), "x.db") },
		func(t testing.TB, at string) (*store.DB, error) { return store.Open(at, &store.Options{NoSync: true}) }},
	{"etcd",
		func(t testing.TB) string { return fmt.Sprintf("test%d/", etcdPrefixes.Add(1)) },
		func(t testing.TB, at string) (*store.DB, error) {
			return store.OpenEtcd(store.EtcdOptions{Endpoints: etcdtest.Shared(t).Endpoints, Prefix: at})
		}},
}

// db opens a new database of the engine, closed when the test ends.
func (e engine) db(t testing.TB) *store.DB {
	t.Helper()
	db, err := e.open(t, e.where(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// forEngines runs fn once per engine, as subtests named by the engine.
func forEngines(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, e) })
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	etcdtest.CloseShared()
	os.Exit(code)
}

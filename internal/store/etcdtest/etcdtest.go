// Package etcdtest starts real etcd clusters (go.etcd.io/etcd/server/v3/embed) inside a test
// process, on 127.0.0.1 ports chosen free and in temporary directories, for the tests of the
// etcd engine and of the cluster guards. It is imported by tests only.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// The limits the test clusters run with (etcd's --max-txn-ops and --max-request-bytes), as
// docs/cluster.md tells an operator to set them: the demo data and a batch commit more than
// etcd's default 128 operations at once. Give them to store.EtcdOptions.
const (
	MaxTxnOps       = 4096
	MaxRequestBytes = 8 << 20
)

// Cluster is a running etcd cluster of one or more members.
type Cluster struct {
	Endpoints []string // client URLs, one per member
	members   []*embed.Etcd
	dir       string
}

// freePort returns a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// New starts an n-member cluster under a new temporary directory and waits until every member
// serves. Close stops it and removes the directory.
func New(n int) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "certseal-etcd-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	peers, clients := make([]url.URL, n), make([]url.URL, n)
	var initial []string
	for i := range n {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		cp, err := freePort()
		if err != nil {
			return nil, err
		}
		peers[i] = url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", pp)}
		clients[i] = url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cp)}
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i].String()))
		c.Endpoints = append(c.Endpoints, clients[i].String())
	}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	c.members = make([]*embed.Etcd, n)
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = fmt.Sprintf("%s/m%d", dir, i)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peers[i]}, []url.URL{peers[i]}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{clients[i]}, []url.URL{clients[i]}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "certseal-test"
		cfg.LogLevel = "error"
		cfg.UnsafeNoFsync = true // tests: the data lives in a temporary directory
		cfg.QuotaBackendBytes = 256 << 20
		cfg.MaxTxnOps, cfg.MaxRequestBytes = MaxTxnOps, MaxRequestBytes
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("start etcd member %d: %w", i, err)
		}
		c.members[i] = e
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-e.Server.ReadyNotify():
			case <-time.After(30 * time.Second):
				mu.Lock()
				firstErr = fmt.Errorf("etcd member %d not ready after 30s", i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		c.Close()
		return nil, firstErr
	}
	return c, nil
}

// Start is New for a test: the cluster stops when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := New(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Stop stops member i abruptly (its client and peer listeners close).
func (c *Cluster) Stop(i int) {
	if e := c.members[i]; e != nil {
		e.Server.HardStop()
		e.Close()
		c.members[i] = nil
	}
}

// Running reports whether member i has not been stopped.
func (c *Cluster) Running(i int) bool { return c.members[i] != nil }

// Leader returns the index of the member that is the raft leader, or -1.
func (c *Cluster) Leader() int {
	for i, e := range c.members {
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// Close stops every member and removes the cluster's directory.
func (c *Cluster) Close() {
	for i := range c.members {
		if c.members[i] != nil {
			c.members[i].Close()
			c.members[i] = nil
		}
	}
	os.RemoveAll(c.dir)
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Shared returns one single-member cluster for the whole test process, started on first use
// (tests on it keep apart by key prefix). A package that uses it calls CloseShared from its
// TestMain.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New(1) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// CloseShared stops the shared cluster if it was started.
func CloseShared() {
	if shared != nil {
		shared.Close()
	}
}

// Package etcdtest starts real etcd clusters for the tests of the etcd engine and of the cluster
// guards: each member is a process of its own (the member command beside this file, built once
// per test process from go.etcd.io/etcd/server/v3/embed), on 127.0.0.1 ports chosen free and in
// temporary directories. Stop kills a member with SIGKILL, as a machine dies; a member inside the
// test process could not be stopped that way (etcd's HardStop closes its database under requests
// still being served, and the panic that follows ends the whole test binary). Members die with
// the test process. It is imported by tests only.
package etcdtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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
	peers     []string
	initial   string
	dir       string

	mu      sync.Mutex
	members []*exec.Cmd // nil: stopped
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

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// memberBinary builds the member command once per test process.
func memberBinary() (string, error) {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "certseal-etcd-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "etcd-member")
		out, err := exec.Command("go", "build", "-o", binPath, "certseal/internal/store/etcdtest/member").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build the etcd member command: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// New starts an n-member cluster under a new temporary directory and waits until every member
// serves. Close stops it and removes the directory.
func New(n int) (*Cluster, error) {
	if _, err := memberBinary(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "certseal-etcd-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, members: make([]*exec.Cmd, n)}
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
		c.peers = append(c.peers, fmt.Sprintf("http://127.0.0.1:%d", pp))
		c.Endpoints = append(c.Endpoints, fmt.Sprintf("http://127.0.0.1:%d", cp))
		initial = append(initial, fmt.Sprintf("m%d=%s", i, c.peers[i]))
	}
	c.initial = strings.Join(initial, ",")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = c.start(i, "new") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// start runs member i and waits until it prints that it serves.
func (c *Cluster) start(i int, state string) error {
	bin, err := memberBinary()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "-name", fmt.Sprintf("m%d", i), "-dir", filepath.Join(c.dir, fmt.Sprintf("m%d", i)),
		"-peer", c.peers[i], "-client", c.Endpoints[i], "-initial-cluster", c.initial, "-state", state,
		"-max-txn-ops", fmt.Sprint(MaxTxnOps), "-max-request-bytes", fmt.Sprint(MaxRequestBytes))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start etcd member %d: %w", i, err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			return fmt.Errorf("etcd member %d did not start: %s", i, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("etcd member %d not ready after 60s: %s", i, stderr.String())
	}
	c.mu.Lock()
	c.members[i] = cmd
	c.mu.Unlock()
	return nil
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

// Stop kills member i with SIGKILL: no goodbye to its peers, no leadership handed over.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	cmd := c.members[i]
	c.members[i] = nil
	c.mu.Unlock()
	if cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// Restart starts a stopped member i again on its data directory; it rejoins the cluster.
func (c *Cluster) Restart(i int) error {
	if c.Running(i) {
		return fmt.Errorf("etcd member %d is running", i)
	}
	return c.start(i, "existing")
}

// Running reports whether member i has not been stopped.
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i] != nil
}

// Leader returns the index of the member that is the raft leader, or -1, as the running
// members report it.
func (c *Cluster) Leader() int {
	for i := range c.Endpoints {
		if !c.Running(i) {
			continue
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoints[i]}, DialTimeout: 5 * time.Second})
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, c.Endpoints[i])
		cancel()
		cli.Close()
		if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
			return i
		}
	}
	return -1
}

// Close stops every member and removes the cluster's directory.
func (c *Cluster) Close() {
	for i := range c.members {
		c.Stop(i)
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

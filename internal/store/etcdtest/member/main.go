// Command member runs one etcd member (go.etcd.io/etcd/server/v3/embed) as a process of its own,
// for package etcdtest: a test can then kill it with SIGKILL, as an operator's machine dies,
// without the member's shutdown racing requests inside the test's own process. It prints
// "ready" on its standard output once the member serves, and runs until it is killed.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	name := flag.String("name", "", "member name")
	dir := flag.String("dir", "", "data directory")
	peer := flag.String("peer", "", "peer URL")
	client := flag.String("client", "", "client URL")
	initial := flag.String("initial-cluster", "", "name=peerURL,...")
	state := flag.String("state", "new", "new or existing")
	maxTxnOps := flag.Uint("max-txn-ops", 128, "etcd --max-txn-ops")
	maxRequest := flag.Uint("max-request-bytes", 1.5*1024*1024, "etcd --max-request-bytes")
	flag.Parse()
	pu, err := url.Parse(*peer)
	if err != nil {
		fail(err)
	}
	cu, err := url.Parse(*client)
	if err != nil {
		fail(err)
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = *name, *dir
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.InitialCluster = *initial
	cfg.InitialClusterToken = "certseal-test"
	cfg.ClusterState = *state
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // tests: the data lives in a temporary directory
	cfg.QuotaBackendBytes = 256 << 20
	cfg.MaxTxnOps, cfg.MaxRequestBytes = *maxTxnOps, *maxRequest
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fail(err)
	}
	select {
	case <-e.Server.ReadyNotify():
		fmt.Println("ready")
	case <-time.After(60 * time.Second):
		fail(fmt.Errorf("not ready after 60s"))
	}
	fail(<-e.Err())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "etcd member:", err)
	os.Exit(1)
}

// Package weedtest starts a real S3-compatible object store for tests: SeaweedFS's `weed
// server -s3` on 127.0.0.1 ports chosen free, in a temporary directory. The weed binary is built
// from the Go module proxy by .ci/run and cached under ~/.cache/certseal/weed/<Version>/weed
// (fixtures.NeedWeed finds it); without it a test skips, and fails under CI=true.
package weedtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"certseal/internal/fixtures"
)

// Version is the SeaweedFS module version .ci/run builds.
const Version = "v0.0.0-20261109003541-7506e5f91cd6"

// The S3 credentials the server is started with.
const (
	AccessKey = "certseal"
	SecretKey = "certseal-test-secret"
)

// Server is a running weed server.
type Server struct {
	Endpoint string // host:port of the S3 gateway
	cmd      *exec.Cmd
	dir      string
	done     chan struct{}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// New starts the weed binary bin as a server with its S3 gateway and waits until the gateway
// answers.
func New(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "certseal-weed-")
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`{"identities":[{"name":"certseal","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, AccessKey, SecretKey)
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p, err := freePorts(12)
	if err != nil {
		return nil, err
	}
	port := func(i int) string { return strconv.Itoa(p[i]) }
	args := []string{"server", "-dir=" + dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + port(0), "-master.port.grpc=" + port(1), "-master.volumeSizeLimitMB=32",
		"-master.telemetry=false",
		"-volume.port=" + port(2), "-volume.port.grpc=" + port(3), "-volume.max=8",
		"-volume.minFreeSpace=1MiB",
		"-filer.port=" + port(4), "-filer.port.grpc=" + port(5),
		"-s3", "-s3.port=" + port(6), "-s3.port.grpc=" + port(7), "-s3.config=" + filepath.Join(dir, "s3.json"),
		"-s3.port.iceberg=" + port(8), "-s3.port.lance=" + port(9),
		"-metricsPort=" + port(10), "-debug.port=" + port(11),
	}
	log, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Endpoint: "127.0.0.1:" + port(6), cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { cmd.Wait(); log.Close(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The gateway answers an unsigned request (403) once it is up; a bucket is usable once
		// the master has a volume server, which the first write waits for.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.Endpoint+"/", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case <-s.done:
			out, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("weed server exited: %s", lastLines(out))
		default:
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("weed S3 gateway not up after 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lastLines(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Shared returns one server for the whole test process, started on first use; tests keep apart
// by bucket. It skips the test when weed is missing (fails under CI=true). A package that uses
// it calls CloseShared from its TestMain.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := fixtures.NeedWeed(t, Version)
	sharedOnce.Do(func() { shared, sharedErr = New(bin) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// CloseShared stops the shared server if it was started.
func CloseShared() {
	if shared != nil {
		shared.Close()
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"certseal/internal/fixtures"
	"certseal/internal/store"
)

// TestClusterKillNodeDuringIssuance: three real `certseal serve` processes (the built binary)
// on one 3-member etcd and SeaweedFS; twelve clients issue on distinct blank serials, spread
// over the nodes, and one node is killed with SIGKILL meanwhile. Then: every acknowledged (201)
// certificate is listed once with its serial and its PDF's signature is valid (pdfsig); no
// serial has two certificates; every serial whose request got no answer is either issued or
// issues now (none is lost: its claim lapsed with the dead node's lease); `certseal check` on
// the cluster is clean; the killed node, restarted with the same configuration, rejoins,
// serves the certificates and issues.
func TestClusterKillNodeDuringIssuance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary on a cluster")
	}
	s3, etcd := clusterServers(t)
	fx := fixtures.FoodRecords(t)
	bin := buildBinary(t)
	bucket := fmt.Sprintf("kill-%d", time.Now().UnixNano())
	nodeArgs := func() []string {
		return append([]string{"-data", t.TempDir(), "-store", "etcd"}, clusterArgs(etcd, s3, bucket)...)
	}
	procs := []*proc{startProc(t, bin, append(nodeArgs(), "-demo")...)}
	token := tokenOf(procs[0].out.String(), "lizhou-clerk")
	procs = append(procs, startProc(t, bin, nodeArgs()...), startProc(t, bin, nodeArgs()...))
	defer func() {
		for _, p := range procs {
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.cmd.Wait()
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(url, method, path string, body []byte) (int, []byte, error) {
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, nil
	}
	_, b, err := call(procs[0].url, "GET", "/api/v1/seals", nil)
	var seals struct{ Items []struct{ ID string } }
	json.Unmarshal(b, &seals)
	if err != nil || len(seals.Items) == 0 {
		t.Fatalf("no seal: %v %s", err, b)
	}
	seal := seals.Items[0].ID

	const victim = 1
	var mu sync.Mutex
	acked := map[string]string{} // serial → certificate id
	unanswered := map[string]bool{}
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > 240 {
					return
				}
				serial := fmt.Sprintf("SC%08d", i)
				code, b, err := call(procs[(w+int(i))%3].url, "POST", "/api/v1/certificates", issueBody(fx, int(i), seal, serial))
				mu.Lock()
				switch {
				case err != nil || code >= 500:
					unanswered[serial] = true // the node died under it, or etcd was busy: unknown
				case code == 201:
					var c struct{ ID string }
					json.Unmarshal(b, &c)
					acked[serial] = c.ID
					ok.Add(1)
				default:
					t.Errorf("issue %s: %d %s", serial, code, b)
				}
				mu.Unlock()
			}
		})
	}
	for ok.Load() < 40 && next.Load() < 240 {
		time.Sleep(10 * time.Millisecond)
	}
	if ok.Load() < 40 {
		t.Fatalf("only %d of 240 issued before the kill", ok.Load())
	}
	procs[victim].cmd.Process.Signal(syscall.SIGKILL)
	procs[victim].cmd.Wait()
	t.Logf("node %d killed after %d acknowledged certificates", victim, ok.Load())
	wg.Wait()
	t.Logf("%d acknowledged, %d without an answer", len(acked), len(unanswered))

	// The killed node restarts with the same configuration and rejoins.
	procs[victim] = startProc(t, bin, nodeArgs()...)
	if code, b, err := call(procs[victim].url, "GET", "/readyz", nil); err != nil || code != 200 {
		t.Fatalf("the restarted node is not ready: %d %s %v", code, b, err)
	}

	// Every certificate, listed once per serial, and every acknowledged one among them.
	bySerial := map[string][]string{}
	for page := ""; ; {
		code, b, err := call(procs[0].url, "GET", "/api/v1/certificates?limit=100"+page, nil)
		if err != nil || code != 200 {
			t.Fatalf("list: %d %v %s", code, err, b)
		}
		var l struct {
			Items []struct {
				ID     string
				Serial string `json:"blank_serial"`
			}
			Next string `json:"next_cursor"`
		}
		json.Unmarshal(b, &l)
		for _, c := range l.Items {
			bySerial[c.Serial] = append(bySerial[c.Serial], c.ID)
		}
		if l.Next == "" {
			break
		}
		page = "&cursor=" + l.Next
	}
	for serial, ids := range bySerial {
		if len(ids) != 1 {
			t.Errorf("serial %s has %d certificates: %v", serial, len(ids), ids)
		}
	}
	dir := t.TempDir()
	for serial, id := range acked {
		if ids := bySerial[serial]; len(ids) != 1 || ids[0] != id {
			t.Errorf("acknowledged certificate %s (serial %s) is listed as %v", id, serial, ids)
			continue
		}
		code, pdf, err := call(procs[victim].url, "GET", "/api/v1/certificates/"+id+"/pdf", nil)
		if err != nil || code != 200 {
			t.Fatalf("PDF of %s from the restarted node: %d %v", id, code, err)
		}
		path := filepath.Join(dir, id+".pdf")
		os.WriteFile(path, pdf, 0o600)
		if out, _ := exec.Command("pdfsig", path).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
			t.Fatalf("pdfsig on acknowledged certificate %s:\n%s", id, out)
		}
	}

	// No serial is lost: one whose request got no answer was issued, or issues now that the
	// dead node's claims have lapsed with its lease.
	time.Sleep(store.ClaimTTL + time.Second)
	reissued := 0
	for serial := range unanswered {
		if len(bySerial[serial]) == 1 {
			continue
		}
		code, b, err := call(procs[victim].url, "POST", "/api/v1/certificates", issueBody(fx, 7, seal, serial))
		if err != nil || code != 201 {
			t.Errorf("serial %s, unanswered and not issued, does not issue now: %d %v %s", serial, code, err, b)
		}
		reissued++
	}
	t.Logf("%d unanswered serials issued afterwards", reissued)

	var out bytes.Buffer
	check := append([]string{"check", "-store", "etcd"}, clusterArgs(etcd, s3, bucket)...)
	if code := Main(context.Background(), check, &out, &out); code != 0 || !strings.Contains(out.String(), ", 0 problems") {
		t.Fatalf("check after the kill: exit %d\n%s", code, out.String())
	}
	t.Logf("check:\n%s", out.String())
}

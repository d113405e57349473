package main

import (
	"bufio"
	"bytes"
	"certseal/internal/fixtures"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// proc is the real certseal binary running as a child process.
type proc struct {
	cmd *exec.Cmd
	url string
	out *syncBuffer
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "certseal")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &syncBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for i := 0; i < 600; i++ {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			p.url = m[1]
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.cmd.Process.Kill()
	t.Fatalf("server did not start:\n%s", p.out.String())
	return nil
}

// TestKillDuringIssuance kills the real server with SIGKILL while 16 clients issue certificates
// on blank forms, restarts it, and checks that every acknowledged certificate survived and that
// its PDF downloads, and that no certificate lacks its used serial and no used serial lacks its certificate.
func TestKillDuringIssuance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	fx := fixtures.FoodRecords(t)
	bin := buildBinary(t)
	data := t.TempDir()
	p := startProc(t, bin, "-data", data, "-demo")
	token := tokenOf(p.out.String(), "lizhou-clerk")
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(url string) []byte {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	var seals struct{ Items []struct{ ID string } }
	json.Unmarshal(get(p.url+"/api/v1/seals"), &seals)
	if len(seals.Items) == 0 {
		t.Fatal("no seal")
	}
	var acked sync.Map // certificate id -> serial
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1)
				if i > 500 {
					return
				}
				f := fx[int(i)%len(fx)].Fields
				values := map[string]string{}
				for k, v := range f {
					if k != "发证机关" && k != "发证日期" && k != "有效期至" && k != "许可证编号" {
						values[k] = v
					}
				}
				body, _ := json.Marshal(map[string]any{"type_code": "11100000000013338W032", "item_code": "000117001001", "seal_id": seals.Items[0].ID,
					"blank_serial": fmt.Sprintf("SC%08d", i), "valid_to": "2029-04-15", "values": values,
					"holder": map[string]string{"name": f["经营者名称"], "code": f["统一社会信用代码"], "code_type": "001"}})
				req, _ := http.NewRequest("POST", p.url+"/api/v1/certificates", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var c struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&c)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					acked.Store(c.ID, fmt.Sprintf("SC%08d", i))
					ok.Add(1)
				}
			}
		}()
	}
	for ok.Load() < 40 {
		time.Sleep(10 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	close(stop)
	wg.Wait()
	t.Logf("killed after %d acknowledged certificates", ok.Load())

	p = startProc(t, bin, "-data", data)
	n := 0
	acked.Range(func(k, v any) bool {
		var c struct {
			ID     string
			Serial string `json:"blank_serial"`
		}
		json.Unmarshal(get(p.url+"/api/v1/certificates/"+k.(string)), &c)
		if c.ID != k || c.Serial != v {
			t.Errorf("acknowledged certificate %s (serial %s) after restart: %+v", k, v, c)
		}
		if pdf := get(p.url + "/api/v1/certificates/" + k.(string) + "/pdf"); !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("acknowledged certificate %s after restart: its PDF does not download: %.200s", k, pdf)
		}
		n++
		return true
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	out, err := exec.Command(bin, "check", "-data", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ", 0 problems") {
		t.Fatalf("check after the crash: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		t.Log(sc.Text())
	}
	if n < 40 {
		t.Fatalf("only %d acknowledged certificates checked", n)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"certseal/cmd/app"
	"certseal/internal/fixtures"
	"certseal/internal/store"
)

// healthyDB returns the bytes of a database file holding the demo data.
func healthyDB(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	a, err := app.Open(app.Config{Data: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.LoadDemo(); err != nil {
		a.Close()
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// rootPage returns the offset of the root bucket's page in a bbolt file: the root of the meta
// page with the higher transaction id (the layout of go.etcd.io/bbolt's page and meta headers).
func rootPage(t *testing.T, raw []byte) int {
	t.Helper()
	ne := binary.NativeEndian
	pageSize := int(ne.Uint32(raw[16+8:]))
	best, root := uint64(0), uint64(0)
	for i := 0; i < 2; i++ {
		m := raw[i*pageSize+16:]
		if txid := ne.Uint64(m[48:]); txid >= best {
			best, root = txid, ne.Uint64(m[16:])
		}
	}
	if root < 2 || int(root+1)*pageSize > len(raw) {
		t.Fatalf("root page %d out of range", root)
	}
	return int(root) * pageSize
}

// waitOrStop waits for the command to exit, killing it when it starts serving instead.
func waitOrStop(cmd *exec.Cmd, done chan error, out *syncBuffer) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if strings.Contains(out.String(), "listening on") {
				cmd.Process.Kill()
				return <-done
			}
		}
	}
}

// TestDamagedDatabaseRefused damages a database file in the ways a disk or an operator does and
// runs the real binary on it: serve, check, audit verify and backup each refuse with the
// "damaged, restore from a backup" message naming the file and exit code 1, none crashes, and
// the file is left exactly as it was (bytes and modification time).
func TestDamagedDatabaseRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	good := healthyDB(t)
	bin := buildBinary(t)
	flip := func(off int, mask byte) func([]byte) []byte {
		return func(b []byte) []byte { b = bytes.Clone(b); b[off] ^= mask; return b }
	}
	pageSize := int(binary.NativeEndian.Uint32(good[16+8:]))
	root := rootPage(t, good)
	damages := map[string]func([]byte) []byte{
		"truncated to half":                  func(b []byte) []byte { return b[:len(b)/2] },
		"flipped byte in meta page 0":        flip(16+40, 0x01), // a byte of the high-water mark
		"flipped byte in meta page 1":        flip(pageSize+16+8, 0x10),
		"flipped type of the root data page": flip(root+8, 0xff),
		"flipped id of the root data page":   flip(root, 0x01),
		"flipped element of root data page":  flip(root+16+4+3, 0x40), // pos of the first element
		"zero-length file":                   func([]byte) []byte { return nil },
		"garbage":                            func(b []byte) []byte { return bytes.Repeat([]byte("garbage!"), 4096) },
	}
	commands := [][]string{{"serve", "-addr", "127.0.0.1:0"}, {"check"}, {"audit", "verify"}, {"backup"}}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			data := t.TempDir()
			path := filepath.Join(data, store.FileName)
			bad := damage(good)
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range commands {
				args := append(append([]string{}, c...), "-data", data)
				if c[0] == "backup" {
					args = append(args, filepath.Join(t.TempDir(), "copy.db"))
				}
				cmd := exec.Command(bin, args...)
				out := &syncBuffer{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				err := waitOrStop(cmd, done, out)
				text := out.String()
				if c[0] == "serve" {
					t.Logf("serve: %s", text)
				}
				if strings.Contains(text, "listening on") {
					t.Errorf("%s started on the damaged file:\n%s", c[0], text)
				}
				if code := cmd.ProcessState.ExitCode(); code != 1 {
					t.Errorf("%s: exit code %d (%v), want 1:\n%s", strings.Join(c, " "), code, err, text)
				}
				for _, want := range []string{"数据库文件已损坏", "请从备份恢复", path} {
					if !strings.Contains(text, want) {
						t.Errorf("%s: output lacks %q:\n%s", strings.Join(c, " "), want, text)
					}
				}
				for _, crash := range []string{"panic", "goroutine ", "SIGSEGV", "SIGBUS"} {
					if strings.Contains(text, crash) {
						t.Errorf("%s crashed:\n%s", strings.Join(c, " "), text)
						break
					}
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(path)
			if !bytes.Equal(after, bad) || !st.ModTime().Equal(before.ModTime()) || st.Size() != before.Size() {
				t.Errorf("the damaged file was changed: %d bytes → %d, mtime %v → %v", len(bad), len(after), before.ModTime(), st.ModTime())
			}
		})
	}
}

// TestCheckFindsDamagedStoredPDF: certseal check reports a stored PDF whose bytes no longer
// match its recorded SHA-256 as a problem naming the certificate, and exits non-zero.
func TestCheckFindsDamagedStoredPDF(t *testing.T) {
	data := t.TempDir()
	a, err := app.Open(app.Config{Data: data, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.LoadDemo()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Server.Handler())
	var token string
	for _, l := range res.Logins {
		if l.Username == "lizhou-clerk" {
			token = l.Token
		}
	}
	do := func(method, path string, body any, v any) int {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	var seals struct{ Items []struct{ ID string } }
	do("GET", "/api/v1/seals", nil, &seals)
	f := fixtures.FoodRecords(t)[0].Fields
	values := map[string]string{}
	for k, v := range f {
		if k != "发证机关" && k != "发证日期" && k != "有效期至" && k != "许可证编号" {
			values[k] = v
		}
	}
	var c struct{ ID string }
	if code := do("POST", "/api/v1/certificates", map[string]any{"type_code": "11100000000013338W032", "item_code": "000117001001",
		"seal_id": seals.Items[0].ID, "blank_serial": "SC00000001", "valid_to": "2029-04-15", "values": values,
		"holder": map[string]string{"name": f["经营者名称"], "code": f["统一社会信用代码"], "code_type": "001"}}, &c); code != 201 {
		t.Fatalf("issue: %d", code)
	}
	srv.Close()
	var digest string
	err = a.DB.View(func(tx *store.Tx) error {
		var rec struct {
			SHA256 string `json:"pdf_sha256"`
		}
		_, err := tx.GetJSON("cert_records", store.U64(mustAtoi(t, c.ID)), &rec)
		digest = rec.SHA256
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	path := a.Docs.Path(digest)
	pdf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pdf[len(pdf)/3] ^= 0x04
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	a.Close()
	var out bytes.Buffer
	code := Main(context.Background(), []string{"check", "-data", data}, &out, io.Discard)
	if code != 1 || !strings.Contains(out.String(), "certificate "+c.ID+" ") || !strings.Contains(out.String(), "存储的证照文件已损坏") ||
		!strings.Contains(out.String(), "1 certificates, 1 problems") {
		t.Fatalf("check: exit %d\n%s", code, out.String())
	}
}

func mustAtoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal/internal/app"
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

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal/cmd/app"
)

// TestFromEnv: the environment reaches app.Config through cmd/certseal alone: the public URL,
// the master key, and the garbage collector tuned unless GOGC or GOMEMLIMIT says otherwise.
func TestFromEnv(t *testing.T) {
	key := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want app.Config
	}{
		{"none", nil, app.Config{GC: app.DefaultGC}},
		{"public url and key", map[string]string{"CERTSEAL_PUBLIC_URL": "https://zwfw.cngy.gov.cn", "CERTSEAL_MASTER_KEY": key},
			app.Config{PublicURL: "https://zwfw.cngy.gov.cn", MasterKey: key, GC: app.DefaultGC}},
		{"GOGC set", map[string]string{"GOGC": "100"}, app.Config{GC: app.GC{MemoryLimit: app.DefaultGC.MemoryLimit}}},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "512MiB"}, app.Config{GC: app.GC{Percent: app.DefaultGC.Percent}}},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "512MiB"}, app.Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"CERTSEAL_PUBLIC_URL", "CERTSEAL_MASTER_KEY", "GOGC", "GOMEMLIMIT"} {
				t.Setenv(k, tc.env[k])
			}
			var c app.Config
			fromEnv(&c)
			if c.PublicURL != tc.want.PublicURL || c.MasterKey != tc.want.MasterKey || c.GC != tc.want.GC {
				t.Errorf("got public %q, key %q, GC %+v; want %q, %q, %+v", c.PublicURL, c.MasterKey, c.GC, tc.want.PublicURL, tc.want.MasterKey, tc.want.GC)
			}
		})
	}
}

// TestInitMasterKeyEnv: with CERTSEAL_MASTER_KEY set, init seals the CA's key under it and writes
// no key file; without it (and no key file) the service then refuses to start.
func TestInitMasterKeyEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CERTSEAL_MASTER_KEY", strings.Repeat("ab", 32))
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"init", "-data", dir}, &out, &errb); code != 0 {
		t.Fatalf("init: %d %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, app.MasterKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("init with CERTSEAL_MASTER_KEY wrote a key file: %v", err)
	}
	t.Setenv("CERTSEAL_MASTER_KEY", "")
	errb.Reset()
	if code := Main(context.Background(), []string{"init", "-data", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "找不到主密钥") {
		t.Fatalf("init without the key: exit %d, %s", code, errb.String())
	}
}

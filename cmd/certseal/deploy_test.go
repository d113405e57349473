package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certseal/cmd/app"
	"certseal/internal/fixtures"
)

// deployBlock returns the fenced block of docs/deploy.md that starts with "```"+lang.
func deployBlock(t *testing.T, lang string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "```"+lang+"\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("docs/deploy.md has no ```%s block", lang)
	}
	return block
}

// TestDeployConfigFile: the config file of docs/deploy.md is read by certseal's own parser and
// sets what the page says (HTTPS, the redirect, backups, the metrics range).
func TestDeployConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "certseal.yaml")
	os.WriteFile(path, []byte(deployBlock(t, "yaml")), 0o600)
	var c app.Config
	fs, o := serveFlags(io.Discard, &c)
	if err := parseLayered(fs, []string{"-config", path}, func(string) string { return "" }); err != nil {
		t.Fatalf("docs/deploy.md's config file: %v", err)
	}
	if o.tlsCert == "" || o.tlsKey == "" || o.redirectHTTP == "" || o.backup.dir == "" || o.backup.keep != 14 || c.MetricsAllow == "" ||
		!strings.HasPrefix(c.PublicURL, "https://") || c.Data != "/var/lib/certseal" {
		t.Errorf("docs/deploy.md's config file sets %+v %+v", c, o)
	}
	if err := o.backup.check(); err != nil {
		t.Error(err)
	}
}

// TestDeployUnit: the systemd unit of docs/deploy.md has the hardening the page promises, and
// systemd-analyze verify accepts it without a warning.
func TestDeployUnit(t *testing.T) {
	unit := deployBlock(t, "ini")
	for _, want := range []string{"User=certseal", "ProtectSystem=strict", "ReadWritePaths=/var/lib/certseal /var/backups/certseal",
		"NoNewPrivileges=yes", "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID",
		"ExecStart=/usr/local/bin/certseal serve -config /etc/certseal/certseal.yaml"} {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("the unit has no line %q", want)
		}
	}
	fixtures.NeedTool(t, "systemd-analyze", "systemd")
	// verify wants ExecStart's program to exist: this test's own binary stands in for it
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "certseal.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/certseal", self)), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

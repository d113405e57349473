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
	"testing"
	"time"

	"certseal/internal/docstore"
	"certseal/internal/docstore/weedtest"
	"certseal/internal/fixtures"
	"certseal/internal/store/etcdtest"
)

const testMasterKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// call sends a request with a bearer token and returns the status and the body.
func (r *running) call(t *testing.T, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, r.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// issueBody is an issue request for the food licence from sample record i on blank serial.
func issueBody(fx []fixtures.Food, i int, seal, serial string) []byte {
	f := fx[i%len(fx)].Fields
	values := map[string]string{}
	for k, v := range f {
		if k != "发证机关" && k != "发证日期" && k != "有效期至" && k != "许可证编号" {
			values[k] = v
		}
	}
	body, _ := json.Marshal(map[string]any{"type_code": "11100000000013338W032", "item_code": "000117001001", "seal_id": seal,
		"blank_serial": serial, "valid_to": "2029-04-15", "values": values,
		"holder": map[string]string{"name": f["经营者名称"], "code": f["统一社会信用代码"], "code_type": "001"}})
	return body
}

// clusterArgs are the -etcd-/-s3- flags of a cluster on etcd and the shared SeaweedFS.
// The tests share one bucket (SeaweedFS gives every bucket volumes of its own, and the test
// server has few), each test under a prefix of its own.
func clusterArgs(etcd *etcdtest.Cluster, s3 *weedtest.Server, prefix string) []string {
	return []string{"-etcd-endpoints", strings.Join(etcd.Endpoints, ","), "-etcd-max-txn-ops", fmt.Sprint(etcdtest.MaxTxnOps),
		"-s3-endpoint", s3.Endpoint, "-s3-bucket", "certseal-cli", "-s3-prefix", prefix + "/"}
}

// TestMigrateToEtcd: a stopped demo installation with twelve issued certificates (one of them
// revoked) is migrated into a 3-member etcd and SeaweedFS; a cluster node then serves every
// certificate, its PDF comes from the object store with its signature valid (pdfsig) and the
// public verification says valid (revoked for the revoked one), the node issues the next
// certificate without reusing a number, `check` on the cluster is clean, a second migration
// into the same target is refused, and a document removed from the object store is found by
// `check`.
func TestMigrateToEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a demo installation, a 3-member etcd and SeaweedFS")
	}
	s3, etcd := clusterServers(t)
	fx := fixtures.FoodRecords(t)
	data := t.TempDir()

	single := serve(t, "-data", data, "-demo")
	token := tokenOf(single.out.String(), "lizhou-clerk")
	var seals struct{ Items []struct{ ID string } }
	_, b := single.call(t, "GET", "/api/v1/seals", token, nil)
	json.Unmarshal(b, &seals)
	if len(seals.Items) == 0 {
		t.Fatalf("no seal: %s", b)
	}
	type cert struct {
		ID, Identifier string
		Number         string `json:"licence_number"`
		Serial         string `json:"blank_serial"`
		SHA256         string `json:"pdf_sha256"`
	}
	var issued []cert
	for i := range 12 {
		code, b := single.call(t, "POST", "/api/v1/certificates", token, issueBody(fx, i, seals.Items[0].ID, fmt.Sprintf("SC%08d", 200+i)))
		if code != 201 {
			t.Fatalf("issue %d: %d %s", i, code, b)
		}
		var c cert
		json.Unmarshal(b, &c)
		issued = append(issued, c)
	}
	revoke, _ := json.Marshal(map[string]string{"op": "revoke", "reason": "迁移测试：吊销一张"})
	if code, b := single.call(t, "POST", "/api/v1/certificates/"+issued[3].ID+"/operations", token, revoke); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	// Migrating while the installation runs is refused: it must be stopped.
	var out bytes.Buffer
	bucket := fmt.Sprintf("migrate-%d", time.Now().UnixNano())
	args := append([]string{"migrate", "--to", "etcd", "-data", data}, clusterArgs(etcd, s3, bucket)...)
	if code := Main(context.Background(), args, &out, &out); code != 1 || !strings.Contains(out.String(), "stop certseal") {
		t.Fatalf("migrating a running installation: exit %d\n%s", code, out.String())
	}
	single.stop(t)

	out.Reset()
	if code := Main(context.Background(), args, &out, &out); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, out.String())
	}
	t.Logf("migrate:\n%s", out.String())
	for _, want := range []string{"etcd: 3 members compared", "certificates and used blank serials: 12 certificates, 0 problems", "audit chain intact"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("migrate's report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := Main(context.Background(), args, &out, &out); code != 1 || !strings.Contains(out.String(), "已有") {
		t.Fatalf("a second migration into the same target: exit %d\n%s", code, out.String())
	}

	node := serve(t, append([]string{"-data", t.TempDir(), "-store", "etcd"}, clusterArgs(etcd, s3, bucket)...)...)
	dir := t.TempDir()
	for i, c := range issued {
		code, b := node.call(t, "GET", "/api/v1/certificates/"+c.ID, token, nil)
		var got cert
		json.Unmarshal(b, &got)
		if code != 200 || got != c {
			t.Fatalf("certificate %s on the cluster: %d %+v, want %+v", c.ID, code, got, c)
		}
		code, pdf := node.call(t, "GET", "/api/v1/certificates/"+c.ID+"/pdf", token, nil)
		if code != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatalf("PDF of %s: %d %.200s", c.ID, code, pdf)
		}
		path := filepath.Join(dir, c.ID+".pdf")
		os.WriteFile(path, pdf, 0o600)
		sig, _ := exec.Command("pdfsig", path).CombinedOutput()
		if !strings.Contains(string(sig), "Signature is Valid.") {
			t.Fatalf("pdfsig on %s from the cluster:\n%s", c.ID, sig)
		}
		code, b = node.call(t, "POST", "/api/v1/verify", "", pdf)
		var v struct{ Verdict string }
		json.Unmarshal(b, &v)
		want := "valid"
		if i == 3 {
			want = "revoked"
		}
		if code != 200 || v.Verdict != want {
			t.Fatalf("verify %s on the cluster: %d %s, want %s", c.ID, code, b, want)
		}
	}
	code, b := node.call(t, "GET", "/api/v1/audit?limit=1", tokenOf(single.out.String(), "auditor"), nil)
	if code != 200 || !strings.Contains(string(b), `"store.migrate"`) {
		t.Fatalf("the last audit event is not the migration: %d %.300s", code, b)
	}
	code, b = node.call(t, "POST", "/api/v1/certificates", token, issueBody(fx, 20, seals.Items[0].ID, "SC00000300"))
	var next cert
	json.Unmarshal(b, &next)
	if code != 201 {
		t.Fatalf("issue on the cluster: %d %s", code, b)
	}
	for _, c := range issued {
		if c.ID == next.ID || c.Number == next.Number || c.Identifier == next.Identifier {
			t.Fatalf("the cluster reused %+v for %+v", c, next)
		}
	}
	node.stop(t)

	check := append([]string{"check", "-store", "etcd"}, clusterArgs(etcd, s3, bucket)...)
	out.Reset()
	if code := Main(context.Background(), check, &out, &out); code != 0 || !strings.Contains(out.String(), "13 certificates, 0 problems") {
		t.Fatalf("check on the cluster: exit %d\n%s", code, out.String())
	}
	docs, err := docstore.OpenS3(context.Background(), docstore.S3Options{Endpoint: s3.Endpoint, Bucket: "certseal-cli", Prefix: bucket + "/",
		AccessKey: weedtest.AccessKey, SecretKey: weedtest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if next.SHA256 == "" {
		t.Fatal("no pdf_sha256 in the certificate")
	}
	if err := docs.Delete(context.Background(), next.SHA256); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := Main(context.Background(), check, &out, &out); code != 1 || !strings.Contains(out.String(), "1 problems") {
		t.Fatalf("check with a document missing from the object store: exit %d\n%s", code, out.String())
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	weedtest.CloseShared()
	os.Exit(code)
}

// TestClusterBackupDirRefused: serve -backup-dir on a cluster stops with a message naming the
// cluster's backup (an etcd snapshot and the object store), instead of writing empty archives.
func TestClusterBackupDirRefused(t *testing.T) {
	s3 := weedtest.Shared(t)
	etcd := etcdtest.Start(t, 1)
	t.Setenv("CERTSEAL_MASTER_KEY", testMasterKey)
	t.Setenv("CERTSEAL_S3_ACCESS_KEY", weedtest.AccessKey)
	t.Setenv("CERTSEAL_S3_SECRET_KEY", weedtest.SecretKey)
	var out bytes.Buffer
	args := append([]string{"serve", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-store", "etcd", "-backup-dir", t.TempDir()},
		clusterArgs(etcd, s3, "backupdir")...)
	if code := Main(context.Background(), args, &out, &out); code != 1 || !strings.Contains(out.String(), "docs/cluster.md") {
		t.Fatalf("serve -backup-dir on a cluster: exit %d\n%s", code, out.String())
	}
}

// clusterServers starts what a cluster test of the real binary needs: the shared SeaweedFS, a
// 3-member etcd, the master key and the object store's credentials in the environment (secrets
// are environment-only), and pdfsig to check the signatures.
func clusterServers(t *testing.T) (*weedtest.Server, *etcdtest.Cluster) {
	t.Helper()
	fixtures.NeedTool(t, "pdfsig", "poppler-utils")
	s3 := weedtest.Shared(t)
	etcd := etcdtest.Start(t, 3)
	t.Setenv("CERTSEAL_MASTER_KEY", testMasterKey)
	t.Setenv("CERTSEAL_S3_ACCESS_KEY", weedtest.AccessKey)
	t.Setenv("CERTSEAL_S3_SECRET_KEY", weedtest.SecretKey)
	return s3, etcd
}

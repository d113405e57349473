package seals_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/internal/store"
	"certseal/seals"
)

// dumpSealBuckets returns every key and value of the registry's buckets, to tell that a refused
// start changed nothing (the file's bytes change anyway: opening the store commits its
// migration check).
func dumpSealBuckets(t *testing.T, path string) []byte {
	t.Helper()
	db, err := store.Open(path, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out bytes.Buffer
	err = db.View(func(tx *store.Tx) error {
		for _, b := range []store.Bucket{seals.BucketMeta, seals.BucketSeals, seals.BucketKeys, seals.BucketCodes, seals.BucketScans, seals.BucketUses, seals.BucketRevoked} {
			out.WriteString(string(b) + "\n")
			if err := tx.Scan(b, nil, nil, func(k, v []byte) error {
				out.WriteString(hex.EncodeToString(k) + "=" + hex.EncodeToString(v) + "\n")
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestAppMasterKey starts the service with the demo data (the master key file is created in
// the data directory), then with the wrong master key configured and without the key
// file: both refuse to start with a clear message and change neither the key file nor the keys.
func TestAppMasterKey(t *testing.T) {
	dir := t.TempDir()
	clock := &certseal.FixedClock{T: regStart}
	cfg := app.Config{Data: dir, NoSync: true, Clock: clock}
	a, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.LoadDemo(); err != nil {
		t.Fatal(err)
	}
	items, _, err := a.Seals.List(context.Background(), seals.SealFilter{}, "", 50)
	if err != nil || len(items) != 17 {
		t.Fatalf("demo seals: %v, %d seals, want 17 (one per county bureau, registered for ECDSA and SM2, and the city center's copy seal)", err, len(items))
	}
	var s seals.Seal
	for _, it := range items {
		if it.OrgName == "广元市利州区行政审批局" && it.Algorithm != seals.AlgSM2 {
			s = it
		}
	}
	if s.Name != "广元市利州区行政审批局行政审批专用章" || s.Code != "5108020000001" || len(s.LicenceTypes) < 4 ||
		!s.ValidTo.Equal(regStart.AddDate(5, 0, 0).Truncate(time.Second)) {
		t.Errorf("demo seal of 利州区: %s %s %s %v %v", s.ID, s.Name, s.Code, s.LicenceTypes, s.ValidTo)
	}
	a.Close()

	keyFile := filepath.Join(dir, app.MasterKeyFile)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", err, fi)
	}
	key, _ := os.ReadFile(keyFile)
	before := dumpSealBuckets(t, cfg.DBPath())

	wrong := cfg
	wrong.MasterKey = strings.Repeat("ab", 32)
	a, err = app.Open(wrong)
	if a != nil || err == nil || !strings.Contains(err.Error(), "主密钥不正确") {
		t.Fatalf("wrong master key: got %v, %v; want an error saying 主密钥不正确", a, err)
	}
	if got, _ := os.ReadFile(keyFile); !bytes.Equal(got, key) {
		t.Error("the key file changed")
	}
	if !bytes.Equal(dumpSealBuckets(t, cfg.DBPath()), before) {
		t.Error("a refused start changed the stored keys")
	}

	// The right key configured (CERTSEAL_MASTER_KEY) works as well as the file.
	right := cfg
	right.MasterKey = string(key)
	a, err = app.Open(right)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	// Without the key file (and no key configured) it refuses, and makes no new key.
	if err := os.Rename(keyFile, keyFile+".away"); err != nil {
		t.Fatal(err)
	}
	a, err = app.Open(cfg)
	if a != nil || err == nil || !strings.Contains(err.Error(), "找不到主密钥") {
		t.Fatalf("missing key file: got %v, %v", a, err)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Error("a missing key file was replaced by a new key")
	}
	if !bytes.Equal(dumpSealBuckets(t, cfg.DBPath()), before) {
		t.Error("a refused start changed the stored keys")
	}
	os.Rename(keyFile+".away", keyFile)

	// init creates the CA only once.
	a, err = app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var out bytes.Buffer
	if err := a.Init(&out); err != nil || !strings.Contains(out.String(), "root CA exists") {
		t.Errorf("init: %v %q", err, out.String())
	}
}

// TestAppInitCreatesCA: on a new database `certseal init`'s step creates the master key file and
// the CA.
func TestAppInitCreatesCA(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Open(app.Config{Data: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var out bytes.Buffer
	if err := a.Init(&out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "created the master key file") || !strings.Contains(s, "created the root CA") || !strings.Contains(s, seals.CAName) {
		t.Errorf("init said %q", s)
	}
	if strings.Contains(out.String(), "PRIVATE") {
		t.Error("init printed a key")
	}
}

package catalogue_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/store"
)

func demoDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := demo.Load(db, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDemoLoadsOnce(t *testing.T) {
	db := demoDB(t)
	res, err := demo.Load(db, time.Now())
	if err != nil || res.Loaded {
		t.Fatalf("second load: %+v %v", res, err)
	}
	s := &catalogue.Service{DB: db, Clock: certseal.SystemClock{}}
	types, _, _ := s.ListTypes(context.Background(), catalogue.TypeFilter{}, "", 100)
	if len(types) != 4 {
		t.Errorf("%d licence types, want 4", len(types))
	}
	for _, ty := range types {
		bs, err := s.BindingsOfType(context.Background(), ty.Code)
		if err != nil || len(bs) == 0 {
			t.Errorf("type %s has no bindings: %v", ty.Name, err)
		}
	}
}

func TestSerialFormat(t *testing.T) {
	ty := catalogue.LicenceType{Channel: catalogue.ChannelPrinter, SerialPrefix: "SC", SerialWidth: 8, Name: "食品经营许可证"}
	tests := map[string]struct {
		in   string
		n    uint64
		fail bool
	}{
		"ok":           {"SC00000042", 42, false},
		"wrong prefix": {"SP00000042", 0, true},
		"too short":    {"SC0000042", 0, true},
		"too long":     {"SC000000042", 0, true},
		"letters":      {"SC0000004X", 0, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n, err := ty.ParseSerial(tc.in)
			if (err != nil) != tc.fail || n != tc.n {
				t.Fatalf("ParseSerial(%q) = %d, %v", tc.in, n, err)
			}
			if !tc.fail && ty.FormatSerial(n) != tc.in {
				t.Errorf("FormatSerial(%d) = %q", n, ty.FormatSerial(n))
			}
		})
	}
	if ty.MaxSerial() != 99999999 {
		t.Errorf("MaxSerial %d", ty.MaxSerial())
	}
}

// BenchmarkLookup measures what issuing a certificate asks of the catalogue: the licence type and
// whether it is bound to the item, in one read transaction, with 2,000 types and 4,000 items.
func BenchmarkLookup(b *testing.B) {
	db := demoDB(b)
	now := time.Now()
	err := db.Update(func(tx *store.Tx) error {
		for i := 0; i < 2000; i++ {
			code := fmt.Sprintf("11100000000013338W%03d", i%1000)
			if i >= 1000 {
				code = fmt.Sprintf("11100000000019526C%03d", i%1000)
			}
			if _, err := catalogue.GetType(tx, code); err == nil {
				continue
			}
			t := catalogue.LicenceType{Code: code, Name: fmt.Sprintf("证照%d", i), DefinerName: "部委", HolderKind: catalogue.HolderAny, Channel: catalogue.ChannelElectronic}
			if _, err := catalogue.CreateTypeTx(tx, now, certseal.System, t); err != nil {
				return err
			}
			for j := 0; j < 2; j++ {
				it := catalogue.Item{Code: fmt.Sprintf("9%05d%d", i, j), Name: "事项", ItemType: "行政许可", Level: "county"}
				if _, err := catalogue.CreateItemTx(tx, now, certseal.System, it); err != nil {
					return err
				}
				if _, err := catalogue.BindTx(tx, now, certseal.System, code, it.Code); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % 1000
		code := fmt.Sprintf("11100000000013338W%03d", k)
		err := db.View(func(tx *store.Tx) error {
			if _, err := catalogue.GetType(tx, code); err != nil {
				return err
			}
			if !catalogue.IsBound(tx, code, fmt.Sprintf("9%05d%d", k, 1)) && k != 32 && k != 1 {
				return fmt.Errorf("not bound")
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestFormat: a type's format is pdf, pdf+ofd or ofd (an OFD-only certificate, sealed with SM2);
// a record stored before the field reads as pdf; the demo food licence is pdf+ofd; a patch
// changes it, to ofd alone too.
func TestFormat(t *testing.T) {
	db := demoDB(t)
	var food catalogue.LicenceType
	db.View(func(tx *store.Tx) error {
		var err error
		food, err = catalogue.GetType(tx, demo.TypeFood)
		return err
	})
	if food.Format != catalogue.FormatPDFOFD || !food.Format.PDF() || !food.Format.OFD() {
		t.Fatalf("demo food licence format %q", food.Format)
	}
	old := catalogue.LicenceType{Code: "11100000000013338W099", Name: "旧证照", DefinerName: "部委", HolderKind: catalogue.HolderAny, Channel: catalogue.ChannelElectronic}
	if err := old.Validate(); err != nil || old.Format.Or() != catalogue.FormatPDF || !old.Format.PDF() || old.Format.OFD() {
		t.Fatalf("a type without a format: %q, %v", old.Format.Or(), err)
	}
	for f, ok := range map[catalogue.Format]bool{"pdf": true, "pdf+ofd": true, "ofd": true, "PDF": false, "docx": false} {
		ty := old
		ty.Format = f
		if err := ty.Validate(); (err == nil) != ok || (err != nil && certseal.ErrorCode(err) != certseal.EInvalid) {
			t.Errorf("format %q: %v", f, err)
		}
	}
	svc := &catalogue.Service{DB: db, Clock: &certseal.FixedClock{T: time.Now()}}
	admin := certseal.Actor{Username: "admin", Role: certseal.RoleAdmin}
	pdf := catalogue.FormatPDF
	got, err := svc.UpdateType(context.Background(), admin, demo.TypeFood, catalogue.TypePatch{Format: &pdf})
	if err != nil || got.Format != catalogue.FormatPDF {
		t.Fatalf("patch the format: %q, %v", got.Format, err)
	}
	ofd := catalogue.FormatOFD
	got, err = svc.UpdateType(context.Background(), admin, demo.TypeFood, catalogue.TypePatch{Format: &ofd})
	if err != nil || got.Format != catalogue.FormatOFD || got.Format.PDF() || !got.Format.OFD() {
		t.Fatalf("patch to ofd alone: %q, %v", got.Format, err)
	}
	bad := catalogue.Format("OFD")
	if _, err := svc.UpdateType(context.Background(), admin, demo.TypeFood, catalogue.TypePatch{Format: &bad}); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("patch to OFD in capitals: %v", err)
	}
}

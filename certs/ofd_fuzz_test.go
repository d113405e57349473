package certs_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"certseal/certs"
)

// FuzzOFDSniff feeds the OFD sniffing of an uploaded file (IsZIP, IsOFD and the sealed-package
// check behind a verdict) arbitrary bytes: no panic, and IsOFD implies IsZIP.
func FuzzOFDSniff(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range []string{"OFD.xml", "Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/SignedValue.dat"} {
		w, _ := zw.Create(n)
		w.Write([]byte("<x/>"))
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("%PDF-1.7"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ofd := certs.IsOFD(b)
		if ofd && !certs.IsZIP(b) {
			t.Fatal("IsOFD without IsZIP")
		}
		missing, sealed := certs.SealedPackage(b)
		if missing != "" && (!sealed || ofd) {
			t.Fatalf("missing %q, sealed %v, IsOFD %v", missing, sealed, ofd)
		}
	})
}

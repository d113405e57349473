package seals_test

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"
	"time"

	"certseal"
	"certseal/seals"
)

// FuzzVerifyOFD feeds VerifyOFD arbitrary packages, seeded with a signed food licence and
// pieces of it: it must return within its deadline with a verdict or a *certseal.Error, and a
// package it accepts as intact must hold every file its References name.
func FuzzVerifyOFD(f *testing.F) {
	// A small package (a page without text), so that the fuzzer's minimising stays quick.
	ns := `xmlns:ofd="http://www.ofdspec.org/2016"`
	pkg := writeZip(f, []zipFile{
		{"OFD.xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:OFD ` + ns + ` Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`)},
		{"Doc_0/Document.xml", []byte(`<ofd:Document ` + ns + `><ofd:CommonData><ofd:MaxUnitID>2</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>`)},
		{"Doc_0/Pages/Page_0/Content.xml", []byte(`<ofd:Page ` + ns + `><ofd:Content><ofd:Layer ID="2"/></ofd:Content></ofd:Page>`)},
	})
	signed, err := seals.SignOFD(pkg, seals.OFDSignOptions{Sign: func(h []byte) ([]byte, error) { return append([]byte("sig:"), h...), nil },
		Time: ofdCreated, X: 100, Y: 100, Diameter: 42})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(signed[:len(signed)/2])
	f.Add(signed[len(signed)-200:])
	var small bytes.Buffer
	zw := zip.NewWriter(&small)
	for _, name := range []string{"OFD.xml", "Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/Signature.xml"} {
		w, _ := zw.Create(name)
		w.Write(readZipFile(f, signed, name))
	}
	zw.Close()
	f.Add(small.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		vs, err := seals.VerifyOFD(ctx, data, func(der, h []byte) (bool, error) {
			return bytes.Equal(der, append([]byte("sig:"), h...)), nil
		})
		if err != nil {
			if certseal.ErrorCode(err) == "" {
				t.Fatalf("not a *certseal.Error: %v", err)
			}
			return
		}
		if len(vs) == 0 {
			t.Fatal("no verdict and no error")
		}
		for _, v := range vs {
			if v.Intact() && len(v.Missing) != 0 {
				t.Fatalf("intact with missing files: %+v", v)
			}
		}
	})
}

func readZipFile(t testing.TB, pkg []byte, name string) []byte {
	t.Helper()
	for _, f := range readZip(t, pkg) {
		if f.name == name {
			return f.data
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

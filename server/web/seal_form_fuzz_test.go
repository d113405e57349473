package web

import (
	"net/url"
	"slices"
	"testing"

	"certseal/seals"
)

// FuzzSealForm reads any form body as the seal registration form: it never panics, keeps at
// most three distinct algorithms and MaxLicenceTypes+1 licence types, and a form it passes
// (sealFormErrs) has a size the form offers and known algorithms.
func FuzzSealForm(f *testing.F) {
	f.Add("name=%E5%B9%BF%E5%85%83&code=5108029990077&diameter_mm=45&algorithm=ecdsa-p256&algorithm=sm2&algorithm_form=1", true)
	f.Add("algorithm_form=1", false)
	f.Add("diameter_mm=44&algorithm=rsa&algorithm=sm2&algorithm=sm2", true)
	f.Add("licence_types=a&licence_types=b&code=1", false)
	f.Fuzz(func(t *testing.T, body string, preview bool) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		n := sealFormOf(form)
		if len(n.Algorithms) > 3 || len(n.LicenceTypes) > seals.MaxLicenceTypes+1 {
			t.Fatalf("kept %d algorithms, %d licence types", len(n.Algorithms), len(n.LicenceTypes))
		}
		for i, a := range n.Algorithms {
			if slices.Contains(n.Algorithms[:i], a) {
				t.Fatalf("algorithm %q twice", a)
			}
		}
		errs := sealFormErrs(n, preview)
		if len(errs) > 0 {
			return
		}
		if n.DiameterMM != 42 && n.DiameterMM != 45 {
			t.Fatalf("passed a size of %v mm", n.DiameterMM)
		}
		if len(n.Algorithms) == 0 {
			t.Fatal("passed a form without an algorithm")
		}
		for _, a := range n.Algorithms {
			if a != seals.AlgECDSAP256 && a != seals.AlgSM2 {
				t.Fatalf("passed algorithm %q", a)
			}
		}
		if preview && !seals.ValidSealCode(n.Code) {
			t.Fatalf("passed a preview with code %q", n.Code)
		}
	})
}

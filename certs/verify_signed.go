package certs

// anySigned reports whether one of the checks is of a real signature: a CMS signature whose
// signer certificate the validator read (seals.SignatureReport.Signed), which is exactly when the
// check names the signer. A /ByteRange without one (junk, or damaged beyond reading) says
// nothing about whether the file was changed.
func anySigned(cs []SignatureCheck) bool {
	for _, c := range cs {
		if c.SealID != "" || c.SealName != "" || c.Org != "" {
			return true
		}
	}
	return false
}

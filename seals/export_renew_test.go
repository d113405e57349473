package seals

// SetRenewHook sets a function Renew runs between making the new certificate and storing it, so
// that a test can change the seal meanwhile.
func SetRenewHook(r *Registry, f func()) { r.renewHook = f }

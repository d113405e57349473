// Package certs issues sealed e-certificates: it checks a clerk's request against the licence
// type, its catalogue binding, the seal and the template; allocates the licence number and the
// GB/T 36904 identifier; renders the PDF, stamps and signs it; and stores the certificate, the
// used blank serial, the seal use, the audit event and the outbox event in one transaction. It
// also runs the status lifecycle, the result push to subscribers, and verification.
package certs

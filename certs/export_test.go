package certs

import "certseal/internal/store"

// PutNewTx writes a new certificate record with its indexes and nothing else (no PDF, which the
// check reports as missing, no blank
// form, seal use or event), for tests that fabricate a record the ledger does not know.
func PutNewTx(tx *store.Tx, c *Certificate) error { return putTx(tx, c, true) }

// SealedPackage is sealedPackage, for the fuzz target.
var SealedPackage = sealedPackage

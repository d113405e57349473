package app

import (
	"certseal/certs"
	"certseal/internal/store"
)

// licenceNumber returns the licence number of the certificate with the given id, read in tx, or
// "" when there is none: the blank-form ledger names the certificate a form was used for by it.
func licenceNumber(tx *store.Tx, certificateID string) string {
	c, err := certs.GetTx(tx, certificateID)
	if err != nil {
		return ""
	}
	return c.LicenceNumber
}

package demand

import "certseal/internal/store"

// InsertFilingTx stores a filing directly, with a new id and its round index but no version
// record and no audit event: for benchmarks that need thousands of lines quickly.
func InsertFilingTx(tx *store.Tx, f *Filing) error {
	id, err := tx.NextID(bucketFilings)
	if err != nil {
		return err
	}
	f.ID = id
	f.Version = 1
	f.StatusLabel = f.Status.Label()
	if err := tx.Put(bucketRoundOrg, roundOrgKey(f.RoundID, f.OrgID), store.U64(id)); err != nil {
		return err
	}
	if err := tx.Put(bucketAgg, roundOrgKey(f.RoundID, f.OrgID), encodeAgg(f)); err != nil {
		return err
	}
	return tx.PutJSON(bucketFilings, store.U64(id), f)
}

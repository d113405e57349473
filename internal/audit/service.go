package audit

import (
	"context"

	"certseal/internal/store"
)

// Service reads the audit log for the HTTP layer, one read transaction per call. Events are
// written by the other services inside their own transactions, with Append.
type Service struct {
	DB *store.DB
}

// List is the package function List in its own read transaction: up to limit events matching
// f, newest first, before sequence number `before` (0 for the newest), and the `before` of the
// next page (0 when there is none).
func (s *Service) List(ctx context.Context, f Filter, before uint64, limit int) ([]Event, uint64, error) {
	var events []Event
	var next uint64
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		events, next, err = List(tx, f, before, limit)
		return err
	})
	return events, next, err
}

// Verify is the package function Verify in its own read transaction: it checks the whole hash
// chain and reports the first broken event.
func (s *Service) Verify(ctx context.Context) (Result, error) {
	var res Result
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		res, err = Verify(tx)
		return err
	})
	return res, err
}

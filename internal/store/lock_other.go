//go:build !unix

package store

import (
	"errors"
	"os"
	"time"
)

var errLocked = errors.New("locked")

// lockShared does nothing where flock is not available: bbolt's own lock still keeps two
// writers apart.
func lockShared(f *os.File, timeout time.Duration) error { return nil }

func unlock(f *os.File) {}

// mapFile reads the first size bytes of f (no mmap here).
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}

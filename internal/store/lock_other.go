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

//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// errLocked is returned when another process holds the database's write lock past the timeout.
var errLocked = errors.New("locked")

// lockShared takes a shared flock on f (the lock bbolt's read-only open takes), waiting up to
// timeout while a writer holds it, so that the file is never checked while another process
// writes it.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if err != syscall.EWOULDBLOCK {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if !time.Now().Before(deadline) {
			return errLocked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

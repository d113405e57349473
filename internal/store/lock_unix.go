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

// mapFile maps the first size bytes of f read-only for the page walk, advising the kernel that
// reads are random (the walk touches page headers, not the values between them).
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	adviseRandom(data)
	return data, func() { syscall.Munmap(data) }, nil
}

package store

import (
	"errors"
	"strings"
	"sync/atomic"
	"syscall"

	"certseal"
)

// MsgDiskFull is the message a caller reads when a write failed for lack of disk space.
const MsgDiskFull = "磁盘空间不足，暂时无法写入，请稍后重试或联系管理员"

// DiskFullError is a write that failed because the file system is full or the quota is used up
// (ENOSPC, EDQUOT), through bbolt's wrapping of them. Nothing of the failed transaction was
// written. It is a *certseal.Error with code EUnavailable (503) for errors.As, and
// errors.Is(err, syscall.ENOSPC) (or EDQUOT) stays true.
type DiskFullError struct {
	Errno syscall.Errno // ENOSPC or EDQUOT
	Err   error         // the error from bbolt
}

// Error returns the message with the underlying error.
func (e *DiskFullError) Error() string { return MsgDiskFull + ": " + e.Err.Error() }

// Unwrap exposes the caller's *certseal.Error, the errno and bbolt's error.
func (e *DiskFullError) Unwrap() []error {
	return []error{certseal.Errorf(certseal.EUnavailable, MsgDiskFull), e.Errno, e.Err}
}

// diskFull returns err as a *DiskFullError when it is a lack of space, else nil. bbolt wraps
// some of its file errors with %s (growing the file), which loses the errno, so the text is
// matched too.
func diskFull(err error) *DiskFullError {
	var d *DiskFullError
	if errors.As(err, &d) {
		return d
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		if errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error()) {
			return &DiskFullError{Errno: errno, Err: err}
		}
	}
	return nil
}

// writeState records whether the last write failed for lack of space.
type writeState struct {
	failing atomic.Pointer[DiskFullError]
	fault   atomic.Pointer[error] // InjectWriteFault
}

// committed maps the error of a write transaction: a lack of space becomes a *DiskFullError
// and marks the database as failing to write; a commit (err == nil) clears that mark.
func (db *DB) committed(err error) error {
	if err == nil {
		db.state.failing.Store(nil)
		return nil
	}
	if d := diskFull(err); d != nil {
		db.state.failing.Store(d)
		return d
	}
	return err
}

// WriteFailing returns the error of the last write when it failed for lack of disk space and no
// write has succeeded since, else nil. /readyz reports not ready while it is set.
func (db *DB) WriteFailing() error {
	if d := db.state.failing.Load(); d != nil {
		return d
	}
	return nil
}

// ProbeWrite commits a small write (the time of the probe in the meta bucket) and returns its
// error: a way for a readiness check to learn that space is back when nothing else writes.
func (db *DB) ProbeWrite(stamp string) error {
	return db.Update(func(tx *Tx) error { return tx.Put(Meta, []byte("write_probe"), []byte(stamp)) })
}

// InjectWriteFault makes every later write transaction fail at commit with err, as the file
// layer would (nothing is written), until it is called with nil. It is for tests of full
// disks where a real one cannot be made.
func (db *DB) InjectWriteFault(err error) {
	if err == nil {
		db.state.fault.Store(nil)
		return
	}
	db.state.fault.Store(&err)
}

// injected returns the injected fault, if any.
func (db *DB) injected() error {
	if p := db.state.fault.Load(); p != nil {
		return *p
	}
	return nil
}

// AsDiskFull returns err as a *DiskFullError when it is a lack of space (of the database or of
// a file written beside it, such as a document), and nil otherwise.
func AsDiskFull(err error) error {
	if d := diskFull(err); d != nil {
		return d
	}
	return nil
}

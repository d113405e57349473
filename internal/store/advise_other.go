//go:build unix && !linux

package store

// adviseRandom does nothing where syscall has no madvise.
func adviseRandom(data []byte) {}

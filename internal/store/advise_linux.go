package store

import "syscall"

// adviseRandom tells the kernel that the mapping is read at random, so that touching a page
// header does not read ahead into the values after it.
func adviseRandom(data []byte) { syscall.Madvise(data, syscall.MADV_RANDOM) }

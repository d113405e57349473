package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrCorrupt is in the chain of every error that reports a damaged database file
// (errors.Is(err, ErrCorrupt)); the error itself is a *CorruptError.
var ErrCorrupt = errors.New("database file damaged")

// CorruptError reports a database file that is not safe to open: what was found where. Its
// message, for the administrator, names the file and says to restore it from a backup.
type CorruptError struct {
	Path   string // the database file
	Reason string // what is wrong, in Chinese
}

// Error returns the message for the administrator.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("数据库文件已损坏：%s（%s）。为免损坏扩大，程序没有打开也没有改动它。请从备份恢复：停止服务，把 certseal backup 写出的副本放回数据目录，命名为 %s", e.Path, e.Reason, FileName)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// CheckLevel says how thoroughly a database file is checked before it is used.
type CheckLevel int

const (
	// CheckQuick checks both meta pages (magic, version, checksum), the file size against the
	// page count, and the page tree bbolt itself walks when it opens the file (page ids, types,
	// element bounds, key order, no page reached twice) without reading the values. Open always
	// runs it: it reads the file's branch and leaf pages once, the same pages bbolt's own open
	// reads, and keeps bbolt from ever reading outside the file or panicking on a damaged page.
	CheckQuick CheckLevel = iota
	// CheckFull is CheckQuick followed by bbolt's own consistency check (tx.Check) and a read of
	// every key and value of every bucket. It reads the whole file: `certseal check` runs it, and
	// `certseal serve -full-check` (env CERTSEAL_FULL_CHECK=1) before it starts.
	CheckFull
)

// bbolt's on-disk layout (go.etcd.io/bbolt/internal/common): a 16-byte page header (id u64,
// flags u16, count u16, overflow u32), then for a meta page the meta (magic, version, page
// size, flags, root bucket {root pgid, sequence}, freelist pgid, high-water mark pgid, txid,
// FNV-64a checksum of the fields before it), for a branch page 16-byte elements (pos, ksize,
// pgid) and for a leaf page 16-byte elements (flags, pos, ksize, vsize), with pos counted from
// the element itself. Integers are in the machine's byte order.
const (
	pageHeaderSize = 16
	elementSize    = 16
	bucketHeader   = 16 // a bucket value: root pgid, sequence; an inline bucket's page follows

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10
	leafBucket   = 0x01

	boltMagic   = 0xED0CDAED
	boltVersion = 2
	noFreelist  = ^uint64(0)
	maxDepth    = 64
)

var ne = binary.NativeEndian

// meta is a decoded meta page.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // pages 0..hwm-1 are in use or free
	txid     uint64
}

// CheckFile checks the database file at path at the given level without writing to it (it is
// opened read-only) and returns a *CorruptError naming what is wrong, nil for a sound file, or
// the error of reading it. A missing file is sound: Open creates it.
func CheckFile(path string, level CheckLevel) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	return checkOpenFile(f, path, level, 0)
}

// checkOpenFile checks f under a shared lock (so that it never reads a file another process
// is writing), waiting up to timeout for a writer's lock.
func checkOpenFile(f *os.File, path string, level CheckLevel, timeout time.Duration) error {
	if err := lockShared(f, timeout); err != nil {
		return err
	}
	defer unlock(f)
	m, size, err := checkMeta(f)
	if err == nil {
		err = walkTree(f, m, size)
	}
	if err == nil && level >= CheckFull {
		err = checkWithBolt(path)
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		ce.Path = path
	}
	return err
}

func corrupt(format string, args ...any) error {
	return &CorruptError{Reason: fmt.Sprintf(format, args...)}
}

// checkMeta checks both meta pages and the file size and returns the meta bbolt will use (the
// one with the higher transaction id).
func checkMeta(f *os.File) (meta, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return meta{}, 0, err
	}
	size := st.Size()
	if size == 0 {
		return meta{}, 0, corrupt("文件为空（0 字节），不是 certseal 数据库")
	}
	var ms [2]meta
	var pageSize int64
	for i := range ms {
		buf := make([]byte, 4096)
		off := int64(i) * pageSize
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return meta{}, 0, err
		}
		m, reason := decodeMeta(buf[:n], uint64(i))
		if reason != "" {
			return meta{}, 0, corrupt("第 %d 个元数据页（文件偏移 %d）%s", i, off, reason)
		}
		if i == 0 {
			pageSize = int64(m.pageSize)
		} else if int64(m.pageSize) != pageSize {
			return meta{}, 0, corrupt("两个元数据页的页大小不同（%d 与 %d）", pageSize, m.pageSize)
		}
		ms[i] = m
	}
	m := ms[0]
	if ms[1].txid > m.txid {
		m = ms[1]
	}
	for i, x := range ms {
		if x.root < 2 || x.root >= x.hwm {
			return meta{}, 0, corrupt("第 %d 个元数据页的根页号 %d 超出范围 [2, %d)", i, x.root, x.hwm)
		}
		if x.freelist != noFreelist && (x.freelist < 2 || x.freelist >= x.hwm) {
			return meta{}, 0, corrupt("第 %d 个元数据页的空闲列表页号 %d 超出范围 [2, %d)", i, x.freelist, x.hwm)
		}
	}
	if need := int64(m.hwm) * pageSize; m.hwm > uint64(size/pageSize) || size < need {
		return meta{}, 0, corrupt("文件只有 %d 字节，但数据库有 %d 页 × %d 字节 = %d 字节：文件被截断了", size, m.hwm, pageSize, int64(m.hwm)*pageSize)
	}
	return m, size, nil
}

// decodeMeta decodes and validates the meta page with the given id from the start of buf; the
// reason is "" for a valid page.
func decodeMeta(buf []byte, id uint64) (meta, string) {
	if len(buf) < pageHeaderSize+64 {
		return meta{}, "不完整（文件太短）"
	}
	b := buf[pageHeaderSize:]
	if ne.Uint32(b) != boltMagic {
		return meta{}, "没有数据库文件的标记：这不是 certseal 数据库，或文件开头已损坏"
	}
	if v := ne.Uint32(b[4:]); v != boltVersion {
		return meta{}, fmt.Sprintf("的格式版本是 %d，应为 %d", v, boltVersion)
	}
	if got := ne.Uint64(buf); got != id {
		return meta{}, fmt.Sprintf("的页号是 %d，应为 %d", got, id)
	}
	if flags := ne.Uint16(buf[8:]); flags != flagMeta {
		return meta{}, fmt.Sprintf("的类型标记是 %#x，不是元数据页", flags)
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if h.Sum64() != ne.Uint64(b[56:]) {
		return meta{}, "校验和不符：页中有字节被改动"
	}
	m := meta{pageSize: ne.Uint32(b[8:]), root: ne.Uint64(b[16:]), freelist: ne.Uint64(b[32:]), hwm: ne.Uint64(b[40:]), txid: ne.Uint64(b[48:])}
	if m.pageSize < 1024 || m.pageSize > 1<<16 || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Sprintf("的页大小 %d 不合理", m.pageSize)
	}
	return m, ""
}

// walker walks the page tree from the root bucket the way bbolt does when it opens the file
// (freepages: every page reachable from the root, each reached once, of type branch or leaf,
// keys in order), over the file mapped read-only, checking every offset against the page and
// the file before it is used, so that a damaged page is reported instead of read out of bounds.
// Only the pages of the tree are touched (their headers, elements and keys), never the values.
type walker struct {
	data     []byte // the whole file
	pageSize int64
	hwm      uint64
	seen     []uint64 // bitset of reached page ids
	pages    int
}

func walkTree(f *os.File, m meta, size int64) (err error) {
	data, release, err := mapFile(f, size)
	if err != nil {
		return err
	}
	defer release()
	// A read fault (the file cut short by someone else meanwhile, a disk error) is an error,
	// not a crash; Go's bounds checks keep every read inside the mapping.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = corrupt("读取文件时出错：%v", p)
		}
	}()
	w := &walker{data: data, pageSize: int64(m.pageSize), hwm: m.hwm, seen: make([]uint64, m.hwm/64+1)}
	w.mark(0, 0)
	w.mark(1, 0)
	if m.freelist != noFreelist {
		p, err := w.read(m.freelist)
		if err != nil {
			return err
		}
		if p.flags != flagFreelist {
			return corrupt("空闲列表页 %d 的类型标记是 %#x", m.freelist, p.flags)
		}
	}
	return w.bucket(m.root, nil, 0, "根")
}

// page is a page of the walk: its header and the bytes it covers.
type page struct {
	id       uint64
	flags    uint16
	count    int
	overflow uint64
	buf      []byte // the page and its overflow pages, or an inline page
}

func (w *walker) mark(id, overflow uint64) bool {
	for i := id; i <= id+overflow; i++ {
		if w.seen[i/64]&(1<<(i%64)) != 0 {
			return false
		}
		w.seen[i/64] |= 1 << (i % 64)
	}
	return true
}

// read returns page id, checking that the page and its overflow are below the high-water mark
// (which checkMeta found inside the file), that the page is stored under its own id and is
// reached for the first time, and that its elements fit.
func (w *walker) read(id uint64) (*page, error) {
	if id < 2 || id >= w.hwm {
		return nil, corrupt("引用的第 %d 页超出范围 [2, %d)", id, w.hwm)
	}
	off := int64(id) * w.pageSize
	h := w.data[off : off+pageHeaderSize]
	p := &page{id: ne.Uint64(h), flags: ne.Uint16(h[8:]), count: int(ne.Uint16(h[10:])), overflow: uint64(ne.Uint32(h[12:]))}
	if p.id != id {
		return nil, corrupt("第 %d 页的页头写着页号 %d", id, p.id)
	}
	if id+p.overflow >= w.hwm {
		return nil, corrupt("第 %d 页连同 %d 个溢出页超出范围 [2, %d)", id, p.overflow, w.hwm)
	}
	if !w.mark(id, p.overflow) {
		return nil, corrupt("第 %d 页被引用了不止一次", id)
	}
	w.pages++
	p.buf = w.data[off : off+int64(p.overflow+1)*w.pageSize]
	if (p.flags == flagBranch || p.flags == flagLeaf) && pageHeaderSize+p.count*elementSize > len(p.buf) {
		return nil, corrupt("第 %d 页有 %d 个元素，放不下", id, p.count)
	}
	return p, nil
}

// bytesAt returns n bytes at offset at of the page (at counted from the page start).
func (w *walker) bytesAt(p *page, at, n int64) ([]byte, error) {
	if at < 0 || n < 0 || at+n > int64(len(p.buf)) {
		return nil, corrupt("第 %d 页的元素指向页外（偏移 %d，长度 %d，页长 %d）", p.id, at, n, len(p.buf))
	}
	return p.buf[at : at+n], nil
}

// bucket walks the tree of a bucket whose root page is root (0: an inline bucket, whose page
// is inline).
func (w *walker) bucket(root uint64, inline []byte, depth int, name string) error {
	if depth > maxDepth {
		return corrupt("桶嵌套超过 %d 层", maxDepth)
	}
	if root == 0 {
		if len(inline) < pageHeaderSize {
			return corrupt("内联桶 %q 的页不完整", name)
		}
		p := &page{flags: ne.Uint16(inline[8:]), count: int(ne.Uint16(inline[10:])), buf: inline}
		if p.flags != flagLeaf {
			return corrupt("内联桶 %q 的页类型标记是 %#x", name, p.flags)
		}
		if pageHeaderSize+p.count*elementSize > len(inline) {
			return corrupt("内联桶 %q 的页有 %d 个元素，放不下", name, p.count)
		}
		_, err := w.node(p, nil, nil, depth)
		return err
	}
	_, err := w.subtree(root, nil, nil, nil, depth)
	return err
}

// subtree walks the page id and its children, checking that every key is >= minClosed and <
// maxOpen (nil: unbounded) and in order, as bbolt's recursivelyCheckPageKeyOrder does, and
// returns the largest key in the subtree.
func (w *walker) subtree(id uint64, minClosed, maxOpen []byte, stack []uint64, depth int) ([]byte, error) {
	if len(stack) > maxDepth {
		return nil, corrupt("页树深度超过 %d 层（页 %v）", maxDepth, stack)
	}
	p, err := w.read(id)
	if err != nil {
		return nil, err
	}
	switch p.flags {
	case flagBranch:
		running := minClosed
		var maxKey []byte
		keys := make([][]byte, p.count)
		for i := range keys {
			e := int64(pageHeaderSize + i*elementSize)
			pos, ksize := int64(ne.Uint32(p.buf[e:])), int64(ne.Uint32(p.buf[e+4:]))
			if keys[i], err = w.bytesAt(p, e+pos, ksize); err != nil {
				return nil, err
			}
		}
		for i, k := range keys {
			if err := keyOrder(p.id, i, k, running, maxOpen); err != nil {
				return nil, err
			}
			next := maxOpen
			if i < len(keys)-1 {
				next = keys[i+1]
			}
			child := ne.Uint64(p.buf[pageHeaderSize+i*elementSize+8:])
			if maxKey, err = w.subtree(child, k, next, append(stack, id), depth); err != nil {
				return nil, err
			}
			running = maxKey
		}
		return maxKey, nil
	case flagLeaf:
		return w.node(p, minClosed, maxOpen, depth)
	default:
		return nil, corrupt("第 %d 页的类型标记是 %#x，应为分支页或叶子页", id, p.flags)
	}
}

// node checks a leaf page's keys and values and walks the buckets it holds.
func (w *walker) node(p *page, minClosed, maxOpen []byte, depth int) ([]byte, error) {
	running := minClosed
	for i := 0; i < p.count; i++ {
		e := int64(pageHeaderSize + i*elementSize)
		flags, pos := ne.Uint32(p.buf[e:]), int64(ne.Uint32(p.buf[e+4:]))
		ksize, vsize := int64(ne.Uint32(p.buf[e+8:])), int64(ne.Uint32(p.buf[e+12:]))
		if e+pos+ksize+vsize > int64(len(p.buf)) {
			return nil, corrupt("第 %d 页的第 %d 个元素指向页外", p.id, i)
		}
		k, err := w.bytesAt(p, e+pos, ksize)
		if err != nil {
			return nil, err
		}
		if err := keyOrder(p.id, i, k, running, maxOpen); err != nil {
			return nil, err
		}
		running = k
		if flags&leafBucket == 0 {
			continue
		}
		if vsize < bucketHeader {
			return nil, corrupt("第 %d 页的桶 %q 的值只有 %d 字节", p.id, k, vsize)
		}
		hdr, err := w.bytesAt(p, e+pos+ksize, bucketHeader)
		if err != nil {
			return nil, err
		}
		root := ne.Uint64(hdr)
		var inline []byte
		if root == 0 {
			v, err := w.bytesAt(p, e+pos+ksize, vsize)
			if err != nil {
				return nil, err
			}
			inline = v[bucketHeader:]
		}
		if err := w.bucket(root, inline, depth+1, string(k)); err != nil {
			return nil, err
		}
	}
	return running, nil
}

// keyOrder is bbolt's verifyKeyOrder: the first key of a page is >= the bound from its parent,
// each further key is > the one before it, and all are < the parent's next key.
func keyOrder(id uint64, i int, key, prev, maxOpen []byte) error {
	if i == 0 && prev != nil && bytes.Compare(prev, key) > 0 || i > 0 && bytes.Compare(prev, key) >= 0 {
		return corrupt("第 %d 页的第 %d 个键顺序错乱", id, i)
	}
	if maxOpen != nil && bytes.Compare(key, maxOpen) >= 0 {
		return corrupt("第 %d 页的第 %d 个键超出了上层页给出的范围", id, i)
	}
	return nil
}

// checkWithBolt runs bbolt's consistency check and reads every key and value of every bucket
// through bbolt, read-only. The page tree has been checked, so bbolt stays inside the file;
// a panic or memory fault all the same is reported as damage.
func checkWithBolt(path string) (err error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if p := recover(); p != nil {
				done <- corrupt("读取时出错：%v", p)
			}
		}()
		done <- b.View(func(tx *bolt.Tx) error {
			for e := range tx.Check() {
				return corrupt("一致性检查：%v", e)
			}
			var sum byte
			var walk func(bk *bolt.Bucket) error
			walk = func(bk *bolt.Bucket) error {
				return bk.ForEach(func(k, v []byte) error {
					if v == nil {
						if child := bk.Bucket(k); child != nil {
							return walk(child)
						}
						return nil
					}
					for _, c := range v {
						sum ^= c
					}
					return nil
				})
			}
			err := tx.ForEach(func(name []byte, bk *bolt.Bucket) error { return walk(bk) })
			_ = sum
			return err
		})
	}()
	return <-done
}

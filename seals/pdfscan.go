package seals

// A small reader for the PDF syntax SignPDF needs on its fast path: the last classic xref
// table and trailer, and a few top-level dictionaries (catalog, page tree nodes) read from
// their xref offsets. Anything it does not expect makes it give up (errFastPath), and SignPDF
// falls back to pdfcpu's full parser.

import (
	"bytes"
	"errors"
	"strconv"
)

var errFastPath = errors.New("seals: not a simple PDF")

func isWS(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skipWS skips white space and comments from i.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch {
		case isWS(b[i]):
			i++
		case b[i] == '%':
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just after the PDF object starting at i (after white space), or
// -1 when it is malformed. A reference "n g R" is one object.
func valueEnd(b []byte, i int) int {
	return valueEndDepth(b, i, 0)
}

func valueEndDepth(b []byte, i, depth int) int {
	if depth > 32 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '/':
		i++
		for i < len(b) && !isWS(b[i]) && !isDelim(b[i]) {
			i++
		}
		return i
	case c == '(':
		n := 0
		for i < len(b) {
			switch b[i] {
			case '\\':
				i++
			case '(':
				n++
			case ')':
				n--
				if n == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case c == '<' && i+1 < len(b) && b[i+1] == '<':
		i += 2
		for {
			i = skipWS(b, i)
			if i+1 < len(b) && b[i] == '>' && b[i+1] == '>' {
				return i + 2
			}
			if i >= len(b) {
				return -1
			}
			if i = valueEndDepth(b, i, depth+1); i < 0 {
				return -1
			}
		}
	case c == '<':
		j := bytes.IndexByte(b[i:], '>')
		if j < 0 {
			return -1
		}
		return i + j + 1
	case c == '[':
		i++
		for {
			i = skipWS(b, i)
			if i < len(b) && b[i] == ']' {
				return i + 1
			}
			if i >= len(b) {
				return -1
			}
			if i = valueEndDepth(b, i, depth+1); i < 0 {
				return -1
			}
		}
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) && (b[j] == '.' || (b[j] >= '0' && b[j] <= '9')) {
			j++
		}
		// n g R ?
		if _, ok := parseRef(b, i); ok {
			k := skipWS(b, j)
			k = skipWS(b, tokenEnd(b, k))
			return k + 1
		}
		return j
	default:
		j := tokenEnd(b, i)
		if j == i {
			return -1
		}
		return j
	}
}

func tokenEnd(b []byte, i int) int {
	for i < len(b) && !isWS(b[i]) && !isDelim(b[i]) {
		i++
	}
	return i
}

// objRef is an indirect reference.
type objRef struct{ num, gen int }

func (r objRef) String() string { return strconv.Itoa(r.num) + " " + strconv.Itoa(r.gen) + " R" }

// parseRef reads "n g R" at i (after white space).
func parseRef(b []byte, i int) (objRef, bool) {
	i = skipWS(b, i)
	n, i2, ok := parseUint(b, i)
	if !ok {
		return objRef{}, false
	}
	i = skipWS(b, i2)
	g, i3, ok := parseUint(b, i)
	if !ok || i3 == i2 {
		return objRef{}, false
	}
	i = skipWS(b, i3)
	if i >= len(b) || b[i] != 'R' || (i+1 < len(b) && !isWS(b[i+1]) && !isDelim(b[i+1])) {
		return objRef{}, false
	}
	return objRef{n, g}, true
}

func parseUint(b []byte, i int) (int, int, bool) {
	j := i
	v := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 12 {
		v = v*10 + int(b[j]-'0')
		j++
	}
	if j == i || (j < len(b) && !isWS(b[j]) && !isDelim(b[j])) {
		return 0, i, false
	}
	return v, j, true
}

// dict is a parsed top-level dictionary: raw value bytes by key (without the slash), and the
// span of the dictionary in the file.
type dict struct {
	vals       map[string][]byte
	start, end int // b[start:end] is "<< ... >>"
}

// parseDict reads the dictionary at i (after white space).
func parseDict(b []byte, i int) (dict, error) {
	i = skipWS(b, i)
	if i+1 >= len(b) || b[i] != '<' || b[i+1] != '<' {
		return dict{}, errFastPath
	}
	d := dict{vals: map[string][]byte{}, start: i}
	i += 2
	for {
		i = skipWS(b, i)
		if i+1 < len(b) && b[i] == '>' && b[i+1] == '>' {
			d.end = i + 2
			return d, nil
		}
		if i >= len(b) || b[i] != '/' {
			return dict{}, errFastPath
		}
		ke := tokenEnd(b, i+1)
		key := string(b[i+1 : ke])
		vs := skipWS(b, ke)
		ve := valueEnd(b, vs)
		if ve < 0 {
			return dict{}, errFastPath
		}
		d.vals[key] = b[vs:ve]
		i = ve
	}
}

func (d dict) ref(key string) (objRef, bool) {
	v, ok := d.vals[key]
	if !ok {
		return objRef{}, false
	}
	return parseRef(v, 0)
}

func (d dict) name(key string) string {
	v := d.vals[key]
	if len(v) > 1 && v[0] == '/' {
		return string(v[1:])
	}
	return ""
}

func (d dict) int(key string) (int, bool) {
	v, i, ok := parseUint(d.vals[key], 0)
	return v, ok && i == len(d.vals[key])
}

// refs returns the references in an array value.
func refsIn(v []byte) ([]objRef, bool) {
	if len(v) < 2 || v[0] != '[' {
		return nil, false
	}
	var out []objRef
	i := 1
	for {
		i = skipWS(v, i)
		if i < len(v) && v[i] == ']' {
			return out, true
		}
		r, ok := parseRef(v, i)
		if !ok {
			return nil, false
		}
		out = append(out, r)
		i = valueEnd(v, i)
	}
}

// lastStartXref returns the offset given after the last "startxref" in the file.
func lastStartXref(b []byte) (int, bool) {
	tail := b
	if len(tail) > 2048 {
		tail = tail[len(tail)-2048:]
	}
	k := bytes.LastIndex(tail, []byte("startxref"))
	if k < 0 {
		return 0, false
	}
	v, _, ok := parseUint(tail, skipWS(tail, k+len("startxref")))
	if !ok || v >= len(b) {
		return 0, false
	}
	return v, true
}

// simpleDoc is what the fast path learns about a PDF with one classic xref section.
type simpleDoc struct {
	xref    int            // offset of the xref table
	offsets map[int]int    // object number -> offset (in-use objects)
	trailer dict           // the trailer dictionary
	b       []byte         // the file
	cache   map[int]object // parsed objects
	parsed  int            // bytes read by obj so far: bounded, so a hostile file stays linear
}

type object struct {
	ref objRef
	d   dict
}

// readSimple parses the last xref table of b, when it is a classic table without /Prev,
// /XRefStm or /Encrypt (an encrypted file gets errEncrypted).
func readSimple(b []byte) (*simpleDoc, error) {
	x, ok := lastStartXref(b)
	if !ok || !bytes.HasPrefix(b[x:], []byte("xref")) {
		return nil, errFastPath
	}
	doc := &simpleDoc{xref: x, offsets: map[int]int{}, b: b, cache: map[int]object{}}
	i := x + 4
	for {
		i = skipWS(b, i)
		if bytes.HasPrefix(b[i:], []byte("trailer")) {
			break
		}
		start, j, ok := parseUint(b, i)
		if !ok {
			return nil, errFastPath
		}
		count, j, ok := parseUint(b, skipWS(b, j))
		if !ok || count > 1<<20 {
			return nil, errFastPath
		}
		i = skipWS(b, j)
		for k := 0; k < count; k++ {
			if i+18 > len(b) {
				return nil, errFastPath
			}
			off, _, ok1 := parseUint(b, i)
			kind := b[i+17]
			if !ok1 || (kind != 'n' && kind != 'f') {
				return nil, errFastPath
			}
			if kind == 'n' {
				doc.offsets[start+k] = off
			}
			i = skipWS(b, i+18)
		}
	}
	t, err := parseDict(b, i+len("trailer"))
	if err != nil {
		return nil, err
	}
	if _, enc := t.vals["Encrypt"]; enc {
		return nil, errEncrypted
	}
	if _, ok := t.vals["Prev"]; ok {
		return nil, errFastPath
	}
	if _, ok := t.vals["XRefStm"]; ok {
		return nil, errFastPath
	}
	doc.trailer = t
	return doc, nil
}

var errEncrypted = errors.New("seals: encrypted PDF")

// obj returns the dictionary of object r, checking that the xref offset points at "n g obj".
func (doc *simpleDoc) obj(r objRef) (dict, error) {
	if o, ok := doc.cache[r.num]; ok && o.ref == r {
		return o.d, nil
	}
	off, ok := doc.offsets[r.num]
	if !ok || off >= len(doc.b) {
		return dict{}, errFastPath
	}
	b := doc.b
	n, i, ok := parseUint(b, off)
	if !ok || n != r.num {
		return dict{}, errFastPath
	}
	g, i, ok := parseUint(b, skipWS(b, i))
	if !ok || g != r.gen {
		return dict{}, errFastPath
	}
	i = skipWS(b, i)
	if !bytes.HasPrefix(b[i:], []byte("obj")) {
		return dict{}, errFastPath
	}
	d, err := parseDict(b, i+3)
	if err != nil {
		return dict{}, err
	}
	// Objects may overlap in a hostile file (their xref offsets point into each other), so that
	// each parse reads most of it again: give up once the parses have read the file twice.
	if doc.parsed += d.end - off; doc.parsed > 2*len(b)+4096 {
		return dict{}, errFastPath
	}
	doc.cache[r.num] = object{r, d}
	return d, nil
}

// page returns the reference and dictionary of page n (1-based), walking the page tree.
func (doc *simpleDoc) page(root dict, n int) (objRef, dict, error) {
	pages, ok := root.ref("Pages")
	if !ok {
		return objRef{}, dict{}, errFastPath
	}
	node := pages
	seen := 0
	for depth := 0; depth < 32; depth++ {
		d, err := doc.obj(node)
		if err != nil {
			return objRef{}, dict{}, err
		}
		kids, ok := refsIn(d.vals["Kids"])
		if !ok {
			return objRef{}, dict{}, errFastPath
		}
		next := objRef{}
		for _, k := range kids {
			kd, err := doc.obj(k)
			if err != nil {
				return objRef{}, dict{}, err
			}
			switch kd.name("Type") {
			case "Page":
				seen++
				if seen == n {
					return k, kd, nil
				}
			case "Pages":
				c, ok := kd.int("Count")
				if !ok {
					return objRef{}, dict{}, errFastPath
				}
				if seen+c >= n {
					next = k
				} else {
					seen += c
				}
			default:
				return objRef{}, dict{}, errFastPath
			}
			if next != (objRef{}) {
				break
			}
		}
		if next == (objRef{}) {
			return objRef{}, dict{}, errPageRange
		}
		node = next
	}
	return objRef{}, dict{}, errFastPath
}

var errPageRange = errors.New("seals: no such page")

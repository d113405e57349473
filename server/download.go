package server

import (
	"net/http"
	"strings"
)

// WriteOFD answers an OFD package as a download named name (UTF-8) and certseal.ofd for old
// clients.
func WriteOFD(w http.ResponseWriter, name string, pkg []byte) {
	w.Header().Set("Content-Type", "application/ofd")
	w.Header().Set("Content-Disposition", disposition("attachment", "certseal.ofd", name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(pkg)
}

// rfc5987 percent-encodes s as the value of an ext-value (RFC 5987 / RFC 8187): every byte but
// the attr-char set is escaped.
func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// disposition returns a Content-Disposition value ("inline" or "attachment") with an ASCII file
// name for old clients (curl -OJ uses it) and the UTF-8 name in filename* for browsers.
func disposition(kind, ascii, name string) string {
	return kind + `; filename="` + ascii + `"; filename*=UTF-8''` + rfc5987(name)
}

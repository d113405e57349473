// Package seals draws the dedicated approval seal (行政审批专用章), keeps the city center's root
// CA and the seals' keys (encrypted at rest under a master key), signs PDFs with a visible seal
// as a PAdES (ETSI.CAdES.detached) incremental update, and validates such signatures.
//
// It is a library of pure functions and types: no database and no net/http. The seal registry
// and the HTTP API are built on top of it.
package seals

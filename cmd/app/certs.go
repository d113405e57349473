package app

import (
	"context"
	"strings"
	"time"

	"certseal/certs"
)

// publicURL returns the base URL that verification links (and QR codes) start with:
// c.PublicURL, else http://<c.Addr> (127.0.0.1:8080 when that is empty), without a final slash.
func publicURL(c Config) string {
	base := c.PublicURL
	if base == "" {
		addr := c.Addr
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		base = "http://" + addr
	}
	return strings.TrimRight(base, "/")
}

// expirySweep marks the certificates past their validity as expired, every hour until ctx ends.
func (a *App) expirySweep(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			release, ok := a.once(ctx, "expiry-sweep")
			if !ok {
				continue // another node of the cluster sweeps now
			}
			if n, err := a.Certs.ExpireDue(ctx); err != nil {
				a.Log.Error("expiry sweep", "err", err)
			} else if n > 0 {
				a.Log.Info("expiry sweep", "expired", n)
			}
			release()
		}
	}
}

// DocumentGrace is how old an unreferenced document must be before it is collected: far longer
// than the time between writing a certificate's PDF and the commit that records it.
const DocumentGrace = time.Hour

// documents moves the PDFs an older version kept in the database out to the document store
// (resumable: it goes on at the next start when stopped), then removes, every hour until ctx
// ends, the documents no certificate records (left by a crash between the write and the commit).
func (a *App) documents(ctx context.Context) {
	moved, left, err := certs.MigrateDocuments(ctx, a.DB, a.Documents, 0)
	if err != nil && ctx.Err() == nil {
		a.Log.Error("move stored PDFs to the document store", "moved", moved, "err", err)
	} else if moved > 0 || left > 0 {
		a.Log.Info("moved stored PDFs to the document store", "moved", moved, "left_damaged", left)
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := certs.CollectDocuments(ctx, a.DB, a.Documents, DocumentGrace); err != nil {
				a.Log.Error("collect unreferenced documents", "err", err)
			} else if n > 0 {
				a.Log.Info("collected unreferenced documents", "removed", n)
			}
		}
	}
}

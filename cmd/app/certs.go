package app

import (
	"context"
	"strings"
	"time"
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
			if n, err := a.Certs.ExpireDue(ctx); err != nil {
				a.Log.Error("expiry sweep", "err", err)
			} else if n > 0 {
				a.Log.Info("expiry sweep", "expired", n)
			}
		}
	}
}

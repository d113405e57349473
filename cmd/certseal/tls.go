package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// certReloader holds the service's TLS certificate and loads it again from its files on
// SIGHUP: new handshakes get the new certificate, connections already open keep theirs.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// newCertReloader loads the key pair. It returns an error naming the files when they cannot be
// read or do not match.
func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) reload() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s / key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&c)
	return nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// tlsConfig returns the server's TLS configuration: TLS 1.2 and 1.3 only, Go's default cipher
// suites (forward-secret AEAD suites for TLS 1.2) and curves, and the certificate of r.
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate, NextProtos: []string{"h2", "http/1.1"}}
}

// watchHUP reloads the certificate on every SIGHUP until ctx ends, logging the outcome; a
// failed reload keeps the certificate in use.
func (r *certReloader) watchHUP(ctx context.Context, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if err := r.reload(); err != nil {
					log.Error("tls certificate reload failed; the old certificate stays in use", "err", err)
					continue
				}
				leaf := r.cert.Load().Leaf
				var attrs []any
				if leaf != nil {
					attrs = append(attrs, "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
				}
				log.Info("tls certificate reloaded", attrs...)
			}
		}
	}()
}

// redirectServer answers every plain-HTTP request on ln with a permanent redirect to the same
// path over HTTPS on the host the client asked for, at the port of httpsAddr (left out for 443).
func redirectServer(ctx context.Context, ln net.Listener, httpsAddr net.Addr, log *slog.Logger) {
	_, port, _ := net.SplitHostPort(httpsAddr.String())
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if host == "" {
				host = "localhost"
			}
			if port != "443" {
				host = net.JoinHostPort(host, port)
			}
			http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
		})}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http redirect", "err", err)
		}
	}()
}

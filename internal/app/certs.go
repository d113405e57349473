package app

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/certs/push"
	"certseal/internal/store"
	"certseal/seals"
	"certseal/server"
)

// certParts holds each App's certificate service, keyed by *App.
var certParts sync.Map // *App -> *certs.Service

// pushParts and batchParts hold each App's result pusher and batch runner, keyed by *App.
var (
	pushParts  sync.Map // *App -> *push.Pusher
	batchParts sync.Map // *App -> *certs.Batches
)

// Batches returns the App's batch issuance runner, or nil after Close.
func (a *App) Batches() *certs.Batches {
	if b, ok := batchParts.Load(a); ok {
		return b.(*certs.Batches)
	}
	return nil
}

// Pusher returns the App's result pusher (审批结果推送), or nil after Close.
func (a *App) Pusher() *push.Pusher {
	if p, ok := pushParts.Load(a); ok {
		return p.(*push.Pusher)
	}
	return nil
}

// Certs returns the App's certificate service, or nil after Close.
func (a *App) Certs() *certs.Service {
	if s, ok := certParts.Load(a); ok {
		return s.(*certs.Service)
	}
	return nil
}

// openCerts wires the certificates part: the issuing service over the seal registry, the
// template store and the renderer; its HTTP module; and the hourly expiry sweep while serving.
func (a *App) openCerts() error {
	reg := a.Seals()
	base := a.Config.PublicURL
	if base == "" {
		addr := a.Config.Addr
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		base = "http://" + addr
	}
	svc := &certs.Service{
		DB: a.DB, Clock: a.Clock, Seals: sealSource{reg}, Templates: a.Templates(), Validator: validator{reg},
		Renderer: a.Renderer(), BaseURL: strings.TrimRight(base, "/"), Log: a.Log,
	}
	certParts.Store(a, svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := svc.ExpireDue(ctx); err != nil {
					a.Log.Error("expiry sweep", "err", err)
				} else if n > 0 {
					a.Log.Info("expiry sweep", "expired", n)
				}
			}
		}
	}()
	a.closers = append(a.closers, func() error {
		cancel()
		<-done
		certParts.Delete(a)
		return nil
	})
	batches := a.openBatches(svc) // its routes go first: /certificates/batch before /certificates/{id}
	a.Server.Extra = append(a.Server.Extra, batches, server.NewCertAPI(svc, listSigner{reg}, "广元市政务服务和公共资源交易中心"))
	return a.openPush(svc)
}

// openPush wires the result push: the pusher goroutine, woken after every commit that appends
// outbox events, and its HTTP module.
func (a *App) openPush(svc *certs.Service) error {
	p := push.New(svc)
	p.Box = a.Seals().Keyring() // webhook secrets are stored sealed under the master key
	if err := p.SetAllow(a.Config.PushAllow); err != nil {
		return err
	}
	svc.Notify = p.Wake
	pushParts.Store(a, p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	a.closers = append(a.closers, func() error {
		cancel()
		<-done
		pushParts.Delete(a)
		return nil
	})
	a.Server.Extra = append(a.Server.Extra, server.NewPushAPI(p))
	return nil
}

// sealSource adapts the seal registry to certs.SealSource.
type sealSource struct{ reg *seals.Registry }

func (s sealSource) Signing(ctx context.Context, actor certseal.Actor, sealID, typeCode string, at time.Time) (*certs.Signing, error) {
	return s.reg.SignerFor(ctx, actor, sealID, typeCode, at)
}

func (s sealSource) RecordUseTx(tx *store.Tx, now time.Time, actor certseal.Actor, sealID, docSHA256, purpose, objectID string) error {
	var sum [32]byte
	if _, err := hex.Decode(sum[:], []byte(docSHA256)); err != nil {
		return err
	}
	return seals.RecordUseTx(tx, now, actor, sealID, sum, purpose, objectID)
}

// validator adapts the registry's validation to certs.Validator.
type validator struct{ reg *seals.Registry }

func (v validator) Validate(ctx context.Context, pdf []byte, now time.Time) ([]certs.SignatureCheck, error) {
	reports, err := v.reg.ValidateWithStatus(ctx, pdf)
	if err != nil {
		return nil, err
	}
	out := make([]certs.SignatureCheck, 0, len(reports))
	for _, r := range reports {
		out = append(out, certs.SignatureCheck{
			Valid: r.Valid, Modified: r.Modified, Trusted: r.Trusted, SealID: r.SealID, SealName: r.SealName, Org: r.Org,
			SignedAt: r.Time, StatusAtSign: r.StatusAtSigning.Label(), StatusNow: r.StatusNow.Label(), Problems: r.Problems,
			CoversWholeDoc: !r.Modified,
		})
	}
	return out, nil
}

// listSigner signs the status list with the root CA's key.
type listSigner struct{ reg *seals.Registry }

func (l listSigner) SignList(data []byte) ([]byte, []byte, error) {
	ca, err := l.reg.CA(context.Background())
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	sig, err := ca.Signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return sig, ca.CertificatePEM(), nil
}

// openBatches starts the batch runner (at most two batches at a time; unfinished batches resume)
// and returns its HTTP module.
func (a *App) openBatches(svc *certs.Service) *server.BatchAPI {
	b := certs.NewBatches(svc)
	batchParts.Store(a, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
	a.closers = append(a.closers, func() error {
		cancel()
		<-done
		batchParts.Delete(a)
		return nil
	})
	return server.NewBatchAPI(svc, b)
}

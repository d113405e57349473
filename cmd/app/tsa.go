package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"time"

	"certseal"
	"certseal/internal/tsa"
	"certseal/internal/tsa/tsahttp"
	"certseal/seals"
	"certseal/server"
)

// tsaReport is what /readyz says of the time-stamp authority.
type tsaReport struct {
	level   seals.Level
	monitor *tsa.Monitor // nil: none
}

func (r tsaReport) TSAReport() map[string]any {
	if r.monitor == nil {
		return map[string]any{"mode": "none", "pades_level": string(r.level)}
	}
	rep := r.monitor.Report()
	rep["pades_level"] = string(r.level)
	return rep
}

// wireTSA sets the seal registry's long-term signing from the configuration: the TSA (none,
// the built-in one, or an external URL with its CA certificates) and the PAdES level, and
// returns the module serving the built-in TSA at POST /tsa. It returns a *certseal.Error
// (EInvalid) for a bad level, URL or CA file, and the registry's errors when the built-in TSA
// cannot be opened or made.
func (a *App) wireTSA() (*server.TSAAPI, error) {
	c := a.Config
	mode := strings.TrimSpace(c.TSA)
	level := seals.Level("")
	if c.PAdESLevel != "" {
		l, err := seals.ParseLevel(c.PAdESLevel)
		if err != nil {
			return nil, err
		}
		level = l
	}
	api := server.NewTSAAPI(nil)
	var stamper seals.Timestamper
	var roots []*x509.Certificate
	switch {
	case mode == "" || mode == "none":
	case mode == "builtin":
		if _, err := a.Seals.BuiltinTSA(context.Background()); err != nil {
			return nil, err
		}
		stamper = &tsa.Monitor{Stamper: a.Seals.BuiltinTimestamper(), Mode: "builtin"}
		api = server.NewTSAAPI(func(r *http.Request) (*tsa.Authority, error) { return a.Seals.BuiltinTSA(r.Context()) })
	default:
		u, err := url.Parse(mode)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, certseal.Errorf(certseal.EInvalid, "时间戳服务地址 %q 无效：应为 none、builtin 或 http(s):// 地址", mode)
		}
		for rest := c.TSACA; len(rest) > 0; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, certseal.Errorf(certseal.EInvalid, "时间戳服务的根证书无法解析：%v", err)
			}
			roots = append(roots, cert)
		}
		if len(roots) == 0 {
			return nil, certseal.Errorf(certseal.EInvalid, "使用外部时间戳服务需要提供其根证书（-tsa-ca PEM 文件）")
		}
		pool := x509.NewCertPool()
		for _, r := range roots {
			pool.AddCert(r)
		}
		stamper = &tsa.Monitor{Stamper: &tsahttp.Client{URL: mode, Roots: pool, Timeout: c.TSATimeout}, Mode: "url"}
	}
	switch {
	case stamper != nil && level == "":
		level = seals.LevelBLT
	case stamper == nil && level != "" && level != seals.LevelBB:
		return nil, certseal.Errorf(certseal.EInvalid, "PAdES %s 级别需要配置时间戳服务（-tsa builtin 或外部地址）", level)
	}
	a.Seals.SetLongTerm(level, stamper, roots)
	rep := tsaReport{level: level}
	if m, ok := stamper.(*tsa.Monitor); ok {
		rep.monitor = m
	}
	a.tsaReport = rep
	return api, nil
}

// RetimestampWithin is how long before its newest timestamp's certificate expires a B-LTA
// certificate is timestamped again; the sweep runs daily, RetimestampBatch certificates a run.
const (
	RetimestampWithin = 180 * 24 * time.Hour
	RetimestampBatch  = 1000
)

// retimestampSweep renews the document timestamps of B-LTA certificates, once a day.
func (a *App) retimestampSweep(ctx context.Context) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := a.Certs.Retimestamp(ctx, a.Seals, RetimestampWithin, RetimestampBatch)
			if err != nil {
				a.Log.Error("retimestamp sweep", "err", err)
			} else if res.Renewed > 0 || res.Failed > 0 {
				a.Log.Info("retimestamp sweep", "checked", res.Checked, "renewed", res.Renewed, "failed", res.Failed)
			}
		}
	}
}

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"certseal"
	"certseal/certs/use"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/seals"
)

// demoCenterSeal returns the demo step that gives the city center the ECDSA seal that signs
// purpose-stamped copies (电子证照用证专用章, use.CopySealName), authorised for every demo
// licence type and valid for five years.
func demoCenterSeal(reg *seals.Registry) demo.Step {
	return func(tx *store.Tx, now time.Time, orgIDs map[string]string) error {
		id, ok := orgIDs[demo.CityCenterName]
		if !ok {
			return nil
		}
		types, err := catalogue.AllTypes(tx)
		if err != nil {
			return err
		}
		codes := make([]string, len(types))
		for i, t := range types {
			codes[i] = t.Code
		}
		n := seals.NewSeal{
			Name: demo.CityCenterName + use.CopySealName, OrgID: id, Type: seals.TypeOfficial,
			Code: "5108009000001", Auth: DemoSealAuthorisation, LicenceTypes: codes,
			ValidFrom: now, ValidTo: now.AddDate(5, 0, 0),
		}
		if _, err := reg.CreateTx(tx, now, certseal.System, n); err != nil && certseal.ErrorCode(err) != certseal.EConflict {
			return fmt.Errorf("demo seal %s: %w", n.Name, err)
		}
		return nil
	}
}

// useCollector is the metric of the use of certificates: the uses recorded, per using
// organisation and consent kind, read from the use service's counters at each scrape.
type useCollector struct {
	a    *App
	uses *prometheus.Desc
}

func newUseCollector(a *App) *useCollector {
	return &useCollector{a: a, uses: prometheus.NewDesc("certseal_certificate_uses_total",
		"Uses of certificates by other departments (用证) with a purpose-stamped copy, by using organisation and consent kind (code, authorisation).",
		[]string{"org_id", "consent"}, nil)}
}

// Describe sends nothing: the collector is unchecked.
func (c *useCollector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the counters; a failed read is logged and left out.
func (c *useCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.a.Use.Counts(ctx)
	if err != nil {
		c.a.Log.Error("metrics: use counts", "err", err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.uses, prometheus.CounterValue, float64(n.Uses), n.OrgID, n.Consent)
	}
}

// wireUse builds the use service (用证) over the certificates and the seal registry.
func (a *App) wireUse() *use.Service {
	a.Use = &use.Service{DB: a.DB, Clock: a.Clock, Certs: a.Certs, Seals: a.Seals, BaseURL: publicURL(a.Config), ConsentTTL: a.Config.ConsentTTL}
	return a.Use
}

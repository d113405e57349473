package app

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"certseal"
	"certseal/certs"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/inventory/demand"
	"certseal/server"
)

// The domain metrics: read-only collectors that query the services at each scrape. Nothing in
// the domain packages records a metric; what a scrape shows is what the books say.

// metricsActor returns the administrator the collectors read as (every organisation's data).
func metricsActor() certseal.Actor {
	return certseal.Actor{UserID: certseal.System.UserID, Username: "metrics", Role: certseal.RoleAdmin, OrgKind: certseal.KindCityCenter}
}

// scrapeTimeout bounds the queries of one scrape.
const scrapeTimeout = 10 * time.Second

// domainCollector queries the services for the domain metrics.
type domainCollector struct {
	a *App
	d domainDescs

	mu      sync.Mutex
	lastSeq uint64            // outbox events counted so far
	ops     map[opKey]float64 // counted operations
}

// domainDescs describe the domain series.
type domainDescs struct {
	certOps, stock, lowStock, pushDepth, pushAge, pushFailures, batchRows, scrapeErrors *prometheus.Desc
	roundParticipants, roundMissing, storeRead                                          *prometheus.Desc
}

type opKey struct{ op, typeCode, orgID string }

func newDomainCollector(a *App) *domainCollector {
	d := domainDescs{
		certOps: prometheus.NewDesc("certseal_certificate_operations_total",
			"Certificate operations (issue, renew, revoke, suspend, ...) by licence type and issuing organisation, from the outbox.",
			[]string{"operation", "type_code", "org_id"}, nil),
		stock: prometheus.NewDesc("certseal_blank_forms_in_stock",
			"Blank forms in stock by holder and licence type.", []string{"holder_id", "type_code"}, nil),
		lowStock: prometheus.NewDesc("certseal_blank_forms_low_stock",
			"1 for each holder and licence type whose stock is below its threshold.", []string{"holder_id", "type_code"}, nil),
		pushDepth: prometheus.NewDesc("certseal_push_queue_depth",
			"Outbox events after the subscription's cursor (not yet handled).", []string{"subscription_id"}, nil),
		pushAge: prometheus.NewDesc("certseal_push_oldest_undelivered_seconds",
			"Age of the oldest event the subscription has not yet handled (0 when none).", []string{"subscription_id"}, nil),
		pushFailures: prometheus.NewDesc("certseal_push_failed_attempts",
			"Failed attempts of the delivery the subscription is now retrying (0 when none).", []string{"subscription_id"}, nil),
		batchRows: prometheus.NewDesc("certseal_batch_rows",
			"Rows of batch issuances by outcome (done, failed), over every stored batch.", []string{"outcome"}, nil),
		roundParticipants: prometheus.NewDesc("certseal_demand_round_participants",
			"Organisations that file in an open demand round.", []string{"round_id", "year"}, nil),
		roundMissing: prometheus.NewDesc("certseal_demand_round_missing",
			"Organisations of an open demand round that have not yet had a filing approved.", []string{"round_id", "year"}, nil),
		storeRead: prometheus.NewDesc("certseal_store_read_seconds",
			"Time one read transaction of the database took during this scrape.", nil, nil),
		scrapeErrors: prometheus.NewDesc("certseal_metrics_query_errors",
			"Domain metric queries that failed during this scrape.", nil, nil),
	}
	return &domainCollector{a: a, d: d, ops: map[opKey]float64{}}
}

// Describe sends nothing: the collector is unchecked, its series depend on the data.
func (c *domainCollector) Describe(chan<- *prometheus.Desc) {}

// Collect queries the services; a failed query is logged, counted and left out.
func (c *domainCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0
	for _, f := range []func(context.Context, chan<- prometheus.Metric) error{c.storeLatency, c.certOps, c.stock, c.push, c.batches, c.demand} {
		if err := f(ctx, ch); err != nil {
			c.a.Log.Warn("metrics query", "err", err)
			failed++
		}
	}
	ch <- prometheus.MustNewConstMetric(c.d.scrapeErrors, prometheus.GaugeValue, float64(failed))
}

// certOps counts the outbox events since the last scrape (the outbox is append-only, so each
// scrape reads only what is new) and reports the running totals.
func (c *domainCollector) certOps(ctx context.Context, ch chan<- prometheus.Metric) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ctx.Err() == nil {
		var evs []certs.Event
		err := c.a.DB.View(func(tx *store.Tx) error {
			var err error
			evs, err = certs.EventsAfterTx(tx, c.lastSeq, 5000)
			return err
		})
		if err != nil {
			return err
		}
		for _, e := range evs {
			c.ops[opKey{e.Operation, e.TypeCode, e.IssuerOrgID}]++
			c.lastSeq = e.Seq
		}
		if len(evs) < 5000 {
			break
		}
	}
	for k, n := range c.ops {
		ch <- prometheus.MustNewConstMetric(c.d.certOps, prometheus.CounterValue, n, k.op, k.typeCode, k.orgID)
	}
	return ctx.Err()
}

func (c *domainCollector) stock(ctx context.Context, ch chan<- prometheus.Metric) error {
	lines, err := c.a.Inventory.Stock(ctx, metricsActor(), inventory.StockQuery{State: inventory.InStock, RangeLimit: 1})
	if err != nil {
		return err
	}
	for _, l := range lines {
		ch <- prometheus.MustNewConstMetric(c.d.stock, prometheus.GaugeValue, float64(l.Count), l.HolderID, l.TypeCode)
	}
	low, err := c.a.Inventory.LowStock(ctx, metricsActor(), "")
	if err != nil {
		return err
	}
	for _, l := range low {
		ch <- prometheus.MustNewConstMetric(c.d.lowStock, prometheus.GaugeValue, 1, l.HolderID, l.TypeCode)
	}
	return nil
}

func (c *domainCollector) push(ctx context.Context, ch chan<- prometheus.Metric) error {
	subs, err := c.a.Push.ListSubscriptions(ctx, metricsActor(), "")
	if err != nil {
		return err
	}
	now := c.a.Clock.Now()
	for _, s := range subs {
		var last uint64
		var next []certs.Event
		err := c.a.DB.View(func(tx *store.Tx) error {
			last = certs.LastEventSeqTx(tx)
			var err error
			next, err = certs.EventsAfterTx(tx, s.Cursor, 1)
			return err
		})
		if err != nil {
			return err
		}
		depth, age := 0.0, 0.0
		if last > s.Cursor {
			depth = float64(last - s.Cursor)
		}
		if len(next) == 1 {
			age = max(now.Sub(next[0].At).Seconds(), 0)
		}
		failures := 0.0
		if s.Pending != "" {
			if d, err := c.a.Push.GetDelivery(ctx, metricsActor(), s.ID, s.Pending); err == nil {
				for _, at := range d.Attempts {
					if at.Error != "" || at.StatusCode < 200 || at.StatusCode > 299 {
						failures++
					}
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(c.d.pushDepth, prometheus.GaugeValue, depth, s.ID)
		ch <- prometheus.MustNewConstMetric(c.d.pushAge, prometheus.GaugeValue, age, s.ID)
		ch <- prometheus.MustNewConstMetric(c.d.pushFailures, prometheus.GaugeValue, failures, s.ID)
	}
	return nil
}

func (c *domainCollector) batches(ctx context.Context, ch chan<- prometheus.Metric) error {
	done, failed := 0, 0
	cursor := ""
	for {
		bs, next, err := c.a.Certs.ListBatches(ctx, metricsActor(), cursor, 200)
		if err != nil {
			return err
		}
		for _, b := range bs {
			done += b.Done
			failed += b.Failed
		}
		if next == "" || len(bs) == 0 {
			break
		}
		cursor = next
	}
	ch <- prometheus.MustNewConstMetric(c.d.batchRows, prometheus.GaugeValue, float64(done), "done")
	ch <- prometheus.MustNewConstMetric(c.d.batchRows, prometheus.GaugeValue, float64(failed), "failed")
	return nil
}

// storeLatency times one read transaction.
func (c *domainCollector) storeLatency(ctx context.Context, ch chan<- prometheus.Metric) error {
	start := time.Now()
	err := c.a.DB.View(func(tx *store.Tx) error {
		certs.LastEventSeqTx(tx)
		return nil
	})
	ch <- prometheus.MustNewConstMetric(c.d.storeRead, prometheus.GaugeValue, time.Since(start).Seconds())
	return err
}

// demand reports the progress of the open demand rounds.
func (c *domainCollector) demand(ctx context.Context, ch chan<- prometheus.Metric) error {
	rounds, err := c.a.Demand.Rounds(ctx, metricsActor(), demand.RoundFilter{Status: demand.RoundOpen})
	if err != nil {
		return err
	}
	for _, r := range rounds {
		missing, err := c.a.Demand.Missing(ctx, metricsActor(), r.ID)
		if err != nil {
			return err
		}
		id, year := strconv.FormatUint(r.ID, 10), strconv.Itoa(r.Year)
		ch <- prometheus.MustNewConstMetric(c.d.roundParticipants, prometheus.GaugeValue, float64(len(r.Participants)), id, year)
		ch <- prometheus.MustNewConstMetric(c.d.roundMissing, prometheus.GaugeValue, float64(len(missing)), id, year)
	}
	return nil
}

// wireMetrics gives the server its registry with the domain collectors and the address ranges
// that may read /metrics without a token.
func (a *App) wireMetrics() error {
	allow, err := server.ParseAllow(a.Config.MetricsAllow)
	if err != nil {
		return err
	}
	m := server.NewMetrics()
	m.Allow = allow
	m.Registry.MustRegister(newDomainCollector(a))
	m.Registry.MustRegister(newUseCollector(a))
	a.Metrics = m
	a.Server.Metrics = m
	return nil
}

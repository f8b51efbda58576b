package billing

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
)

// BenchmarkWebhookEvents takes, in turns in each round so that all three
// see the same load: one raw INSERT of an event's row into
// billing_webhook_events (the database's rate, the baseline), one new
// event delivered through the real HTTP handler (verified, stored,
// deduplicated, its job queued), and one delivery of an event already
// seen (a replay), which the replica that stored it answers from memory,
// and that replay delivered to another replica, which only the primary
// key knows it by. It reports each rate and the ratios the issue sets
// goals for: handler/raw ≥ 0.5 and replay/first ≥ 5 (replica/first for
// the other replica); and handler/rawtx, against raw SQL keeping the
// same two rows the handler keeps (the event and its job) in one
// transaction.
//
//	go test -run '^$' -bench WebhookEvents -benchtime 10000x ./billing
func BenchmarkWebhookEvents(b *testing.B) {
	h := newHooks(b)
	other := *h
	srv := httptest.NewServer(kit.Handler(quiet, prometheus.NewRegistry(), NewWebhooks(h.w.svc, h.w.cfg, h.holds).Routes()...))
	b.Cleanup(srv.Close)
	other.url = srv.URL + WebhookPath
	now := h.clock.Now()
	var raw, rawTx, first, replay, replica time.Duration
	seen := 0
	for i := 0; b.Loop(); i++ {
		body := invoiceEvent(b, fmt.Sprintf("evt_bench_%d", i), "invoice.payment_failed", fmt.Sprintf("in_bench_%d", i), "cus_gd", now, nil)
		rawBody := invoiceEvent(b, fmt.Sprintf("evt_raw_%d", i), "invoice.payment_failed", fmt.Sprintf("in_bench_%d", i), "cus_gd", now, nil)

		start := time.Now()
		if _, err := h.db.Control.Exec("INSERT INTO billing_webhook_events (id, type, stripe_created, body, received_at) VALUES (?, ?, ?, ?, ?)",
			fmt.Sprintf("evt_raw_%d", i), "invoice.payment_failed", now.Unix(), string(rawBody), now); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(start)

		// The same two rows the handler keeps, the event and its job, in
		// one transaction, as raw SQL.
		start = time.Now()
		id := fmt.Sprintf("evt_rawtx_%d", i)
		err := store.InTx(context.Background(), h.db.Control, nil, func(tx *sqlx.Tx) error {
			if _, err := tx.Exec("INSERT INTO billing_webhook_events (id, type, stripe_created, body, received_at) VALUES (?, ?, ?, ?, ?)",
				id, "invoice.payment_failed", now.Unix(), string(rawBody), now); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO jobs (kind, tenant_code, payload, idempotency_key, status, run_at, attempts, max_attempts, created_at, updated_at)
VALUES (?, '', ?, ?, 'queued', ?, 0, 30, ?, ?)`, "bench.rawtx", `{"event":"`+id+`"}`, "bench.rawtx@"+id, now, now, now)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rawTx += time.Since(start)

		start = time.Now()
		if d := h.deliver(b, body, testSecret, now); d.status != http.StatusOK {
			b.Fatalf("first delivery: %d %s", d.status, d.body)
		}
		first += time.Since(start)

		again := invoiceEvent(b, fmt.Sprintf("evt_bench_%d", seen), "invoice.payment_failed", fmt.Sprintf("in_bench_%d", seen), "cus_gd", now, nil)
		start = time.Now()
		if d := h.deliver(b, again, testSecret, now); d.status != http.StatusOK {
			b.Fatalf("replay: %d %s", d.status, d.body)
		}
		replay += time.Since(start)

		start = time.Now()
		if d := other.deliver(b, again, testSecret, now); d.status != http.StatusOK || !strings.Contains(d.body, `"duplicate":true`) {
			b.Fatalf("replay to another replica: %d %s", d.status, d.body)
		}
		replica += time.Since(start)
		seen = (seen + 7) % (i + 1)
	}
	n := float64(b.N)
	b.ReportMetric(n/raw.Seconds(), "raw/s")
	b.ReportMetric(n/first.Seconds(), "handler/s")
	b.ReportMetric(n/replay.Seconds(), "replay/s")
	b.ReportMetric(raw.Seconds()/first.Seconds(), "handler/raw")
	b.ReportMetric(rawTx.Seconds()/first.Seconds(), "handler/rawtx")
	b.ReportMetric(n/replica.Seconds(), "replica/s")
	b.ReportMetric(first.Seconds()/replay.Seconds(), "replay/first")
	b.ReportMetric(first.Seconds()/replica.Seconds(), "replica/first")
}

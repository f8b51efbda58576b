package billing

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sent is a request that reached Stripe and how it answered.
type sent struct {
	Method, Path, IdempotencyKey string
	Status                       int
}

// recorder stands between the client and stripe-mock and keeps every
// request that went through: stripe-mock keeps no state, so the tests
// assert on what was sent.
type recorder struct {
	URL string
	mu  sync.Mutex
	got []sent
	// forms are the requests' parameters, by idempotency key.
	forms map[string]url.Values
}

func record(t testing.TB, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{forms: map[string]url.Values{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorLog = nil
	proxy.ModifyResponse = func(resp *http.Response) error {
		r.add(sent{resp.Request.Method, resp.Request.URL.Path, resp.Request.Header.Get("Idempotency-Key"), resp.StatusCode})
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, req *http.Request, err error) {
		r.add(sent{req.Method, req.URL.Path, req.Header.Get("Idempotency-Key"), http.StatusBadGateway})
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		r.forms[req.Header.Get("Idempotency-Key")] = form
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// form is the parameters of the request sent under key.
func (r *recorder) form(key string) url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forms[key]
}

func (r *recorder) add(s sent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
}

func (r *recorder) requests() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.got...)
}

// counties is a directory of a province and its counties.
type counties map[string]string

func (c counties) Level(_ context.Context, code string) (string, error) {
	if l, ok := c[code]; ok {
		return l, nil
	}
	return "", errs.NotFound("tenant_not_found", "tenant %s does not exist", code)
}

var guangdong = counties{"gd": "province", "gd.shaoguan": "city", "gd.shaoguan.wengyuan": "county", "gd.shaoguan.lechang": "county", "bj": "province", "bj.haidian": "county"}

// fixture is billing on a fresh control schema, talking to Stripe at url.
type fixture struct {
	db    *storetest.DB
	queue *jobs.Queue
	svc   *Service
}

func newFixture(t testing.TB, stripeURL string) fixture {
	t.Helper()
	db := storetest.New(t)
	client, err := NewStripe(StripeConfig{Key: "sk_test_countycloud", URL: stripeURL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	q := jobs.NewQueue(db.Control)
	return fixture{db: db, queue: q, svc: New(db.Control, q, db.Locker, client, guangdong, time.Now, quiet)}
}

// drain runs billing's jobs until nothing is waiting in the outbox, or
// fails the test after limit.
func (f fixture) drain(t testing.TB, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := jobs.NewWorker(f.queue, f.svc.Jobs(), jobs.Options{Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 50 * time.Millisecond }}, quiet)
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pending, err := f.svc.Pending(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	pending, _ := f.svc.Pending(ctx, 100)
	t.Fatalf("the outbox still holds %d rows after %s: %s", len(pending), limit, describe(pending))
}

func describe(rows []OutboxRow) string {
	s := ""
	for _, r := range rows {
		e := ""
		if r.LastError != nil {
			e = *r.LastError
		}
		s += fmt.Sprintf("\n  %d %s %s attempts %d: %s", r.ID, r.Operation, r.Subject, r.Attempts, e)
	}
	return s
}

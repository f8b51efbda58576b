package kit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type echoRequest struct {
	Text string `json:"text"`
}

func testHandler(t *testing.T, fail error) http.Handler {
	t.Helper()
	echo := func(_ context.Context, req any) (any, error) {
		if fail != nil {
			return nil, fail
		}
		return req, nil
	}
	decode := func(_ context.Context, r *http.Request) (any, error) {
		var req echoRequest
		return req, kit.DecodeJSON(r, &req)
	}
	return kit.Handler(quiet, prometheus.NewRegistry(),
		kit.Route{Method: http.MethodPost, Pattern: "/echo", Name: "echo",
			Handler: httptransport.NewServer(echo, decode, kit.EncodeJSON(http.StatusOK), kit.ServerOptions(quiet)...)},
		kit.Route{Method: http.MethodGet, Pattern: "/panic", Name: "panic",
			Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })},
	)
}

func do(t *testing.T, h http.Handler, method, path, body string) (*http.Response, kit.ErrorBody) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	resp := rec.Result()
	var eb kit.ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
			t.Fatalf("%s %s: error body is not the one JSON format: %v", method, path, err)
		}
	}
	return resp, eb
}

func TestErrorsShareOneFormat(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		fail                     error
		status                   int
		code                     string
	}{
		{"unknown path", "GET", "/nowhere", "", nil, 404, errs.CodeNotFound},
		{"wrong method", "DELETE", "/echo", "", nil, 405, errs.CodeMethodNotAllowed},
		{"empty body", "POST", "/echo", "", nil, 400, errs.CodeInvalidJSON},
		{"bad json", "POST", "/echo", "{", nil, 400, errs.CodeInvalidJSON},
		{"unknown field", "POST", "/echo", `{"text":"a","admin":true}`, nil, 400, errs.CodeInvalidJSON},
		{"two values", "POST", "/echo", `{"text":"a"}{"text":"b"}`, nil, 400, errs.CodeInvalidJSON},
		{"wrong type", "POST", "/echo", `{"text":5}`, nil, 400, errs.CodeInvalidJSON},
		{"not an object", "POST", "/echo", `[1]`, nil, 400, errs.CodeInvalidJSON},
		{"too large", "POST", "/echo", `{"text":"` + strings.Repeat("x", kit.MaxBodyBytes) + `"}`, nil, 413, errs.CodeBodyTooLarge},
		{"domain conflict", "POST", "/echo", `{}`, errs.Conflict("tenant_exists", "exists"), 409, "tenant_exists"},
		{"domain not found", "POST", "/echo", `{}`, errs.NotFound("tenant_not_found", "no"), 404, "tenant_not_found"},
		{"database down", "POST", "/echo", `{}`, fmt.Errorf("get: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), 503, errs.CodeDBUnavailable},
		{"internal", "POST", "/echo", `{}`, errors.New("secret detail"), 500, errs.CodeInternal},
		{"panic", "GET", "/panic", "", nil, 500, errs.CodeInternal},
	}
	for _, c := range cases {
		resp, eb := do(t, testHandler(t, c.fail), c.method, c.path, c.body)
		if resp.StatusCode != c.status || eb.Error.Code != c.code {
			t.Errorf("%s: %d %+v, want %d %s", c.name, resp.StatusCode, eb.Error, c.status, c.code)
		}
		if strings.Contains(eb.Error.Message, "secret detail") {
			t.Errorf("%s: internal detail leaked: %q", c.name, eb.Error.Message)
		}
		if resp.Header.Get(kit.RequestIDHeader) == "" {
			t.Errorf("%s: no request id", c.name)
		}
	}
}

func TestRequestIDAndMetrics(t *testing.T) {
	h := testHandler(t, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/echo", strings.NewReader(`{"text":"翁源"}`))
	req.Header.Set(kit.RequestIDHeader, "trace-123")
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get(kit.RequestIDHeader) != "trace-123" || !strings.Contains(rec.Body.String(), "翁源") {
		t.Fatalf("echo: %d %q %q", rec.Code, rec.Header().Get(kit.RequestIDHeader), rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`countycloud_http_requests_total{code="200",endpoint="echo"} 1`,
		`countycloud_http_request_duration_seconds_count{endpoint="echo"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestReadinessReportsFailingChecks(t *testing.T) {
	down := errors.New("database unreachable")
	var state error
	h := kit.Handler(quiet, prometheus.NewRegistry(), kit.HealthRoutes(kit.Check{Name: "database", Run: func(context.Context) error { return state }})...)
	state = down
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "database unreachable") {
		t.Errorf("readyz while down: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthz while the database is down: %d", rec.Code)
	}
	state = nil
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("readyz when up: %d %s", rec.Code, rec.Body)
	}
}

// TestServeDrainsInFlightRequests stops the server while a request is in
// flight: the request completes, and Serve returns only after it.
func TestServeDrainsInFlightRequests(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		if r.Context().Err() != nil {
			t.Error("the shutdown cancelled the in-flight request")
		}
		fmt.Fprint(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- kit.Serve(ctx, ln, h, time.Minute, quiet) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	stop()
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("new connections are still accepted while draining")
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// FuzzDecodeJSON: any body is decoded or refused with a 4xx error whose
// message speaks of the request, never of Go types.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"text":"翁源"}`, `{"text":5}`, `[1]`, `{`, ``, `{"x":1}`, `{"text":"a"} {}`, `"s"`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var dst echoRequest
		err := kit.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &dst)
		if err == nil {
			return
		}
		e := errs.As(err)
		if e.Kind != errs.KindInvalid && e.Kind != errs.KindTooLarge {
			t.Fatalf("body %q: %v is not a 4xx error", body, err)
		}
		if strings.Contains(e.Message, "Go ") || strings.Contains(e.Message, "kit_test") || strings.Contains(e.Message, "echoRequest") {
			t.Fatalf("body %q: message %q shows internals", body, e.Message)
		}
	})
}

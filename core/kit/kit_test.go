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
	"unicode/utf8"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/sdk/onejson"
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
		kit.Route{Method: http.MethodGet, Pattern: "/items/{name}", Name: "item",
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s %s", r.PathValue("name"), r.URL.Query().Get("q"))
			})},
	)
}

func do(t *testing.T, h http.Handler, method, path, body string) (*http.Response, kit.ErrorBody) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
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
	req.Header.Set("Content-Type", "application/json")
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

func TestABodyNotSentAsJSONIsRefusedAsAnUnsupportedMediaType(t *testing.T) {
	h := testHandler(t, nil)
	for contentType, status := range map[string]int{
		"":                                  415,
		"text/plain":                        415,
		"text/plain; charset=utf-8":         415,
		"application/x-www-form-urlencoded": 415,
		"multipart/form-data; boundary=x":   415,
		"application/json; charset=gbk":     415,
		"application/json; version=2":       415,
		"application/jsonx":                 415,
		"application/json":                  200,
		"Application/JSON; charset=UTF-8":   200,
		"application/json;charset=utf-8":    200,
	} {
		req := httptest.NewRequest("POST", "/echo", strings.NewReader(`{"text":"翁源"}`))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != status || (status == 415 && !strings.Contains(rec.Body.String(), `"code":"`+errs.CodeUnsupportedMedia+`"`)) {
			t.Errorf("Content-Type %q: %d %s, want %d", contentType, rec.Code, rec.Body, status)
		}
	}
}

func TestMalformedJSONTextIsRefusedBeforeItIsDecoded(t *testing.T) {
	h := testHandler(t, nil)
	for name, body := range map[string]string{
		"a stray ] after the value":            `{"text":"x"}]`,
		"a stray } after the value":            `{"text":"x"}}`,
		"a second value":                       `{"text":"x"} 1`,
		"invalid UTF-8 in a string":            "{\"text\":\"\xff\xfe\"}",
		"a truncated character in a string":    "{\"text\":\"\xe7\xbf\"}",
		"an escaped lone high surrogate":       `{"text":"\ud800"}`,
		"an escaped lone low surrogate":        `{"text":"a\udc00"}`,
		"a high surrogate and no low one":      `{"text":"\ud83d\u0041"}`,
		"a high surrogate at the string's end": `{"text":"\ud83d"}`,
		"vertical tab after the value":         "{\"text\":\"x\"}\v",
		"a no-break space after the value":     "{\"text\":\"x\"}\u00a0",
		"a member named twice":                 `{"text":"clerk","text":"operator"}`,
		"a member named twice in two cases":    `{"text":"clerk","TEXT":"operator"}`,
		"a member named twice, once escaped":   `{"text":"clerk","\u0074ext":"operator"}`,
		"a nested member named twice":          `{"text":"x","more":[{"role":1,"Role":2}]}`,
	} {
		resp, eb := do(t, h, "POST", "/echo", body)
		if resp.StatusCode != 400 || eb.Error.Code != errs.CodeInvalidJSON {
			t.Errorf("%s: %d %+v", name, resp.StatusCode, eb.Error)
		}
	}
	for name, body := range map[string]string{
		"a surrogate pair":                `{"text":"\ud83d\ude00"}`,
		"an escaped backslash before u":   `{"text":"\\ud800"}`,
		"trailing spaces":                 "{\"text\":\"x\"} \r\n\t",
		"a replacement character as such": `{"text":"\ufffd�"}`,
	} {
		if resp, eb := do(t, h, "POST", "/echo", body); resp.StatusCode != 200 {
			t.Errorf("%s: %d %+v", name, resp.StatusCode, eb.Error)
		}
	}
}

func TestAPathOrQueryThatIsNotUTF8IsRefusedBeforeTheHandler(t *testing.T) {
	h := testHandler(t, nil)
	for _, path := range []string{"/items/%FF", "/items/a%E7%BF", "/items/a?q=%FF", "/items/a?%C0%AF=1", "/items/a?q=ok&q=%ED%A0%80"} {
		resp, eb := do(t, h, "GET", path, "")
		if resp.StatusCode != 400 || eb.Error.Code != errs.CodeInvalidUTF8 {
			t.Errorf("%s: %d %+v", path, resp.StatusCode, eb.Error)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/items/%E7%BF%81%E6%BA%90?q=%E5%8E%BF", nil))
	if rec.Code != 200 || rec.Body.String() != "翁源 县" {
		t.Errorf("a UTF-8 path and query: %d %s", rec.Code, rec.Body)
	}
}

// FuzzDecodeJSON: any body, sent as any type, is decoded or refused with
// a 4xx error whose message speaks of the request, never of Go types;
// what is decoded was one JSON value of valid UTF-8, sent as JSON, and
// holds no replacement character the body did not spell.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"text":"翁源"}`, `{"text":5}`, `[1]`, `{`, ``, `{"x":1}`, `{"text":"a"} {}`, `"s"`, `null`,
		`{"text":"x"}]`, `{"text":"x"}}`, "{\"text\":\"\xff\"}", `{"text":"\ud800"}`, `{"text":"\udc00\ud800"}`, `{"text":"\ud83d\ude00"}`,
		`{"text":"\\ud800"}`, `{"text":"【机密】"}`, "{\"text\":\"x\"}\v", `{"text":"a","Text":"b"}`} {
		f.Add("application/json", s)
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/json; charset=utf-8"} {
		f.Add(ct, `{"text":"翁源"}`)
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		var dst echoRequest
		err := kit.DecodeJSON(req, &dst)
		if err == nil {
			if !utf8.ValidString(body) || !json.Valid([]byte(body)) {
				t.Fatalf("body %q was decoded", body)
			}
			if name, dup := onejson.DuplicateKey([]byte(body)); dup {
				t.Fatalf("body %q, which names %q twice, was decoded", body, name)
			}
			if strings.ContainsRune(dst.Text, utf8.RuneError) && !strings.ContainsRune(body, utf8.RuneError) && !strings.Contains(strings.ToLower(body), `\ufffd`) {
				t.Fatalf("body %q was decoded with a replacement character: %q", body, dst.Text)
			}
			return
		}
		e := errs.As(err)
		if e.Kind != errs.KindInvalid && e.Kind != errs.KindTooLarge && e.Kind != errs.KindUnsupportedMediaType && e.Code != classified.CodeRefused {
			t.Fatalf("body %q: %v is not a 4xx error", body, err)
		}
		if strings.Contains(e.Message, "Go ") || strings.Contains(e.Message, "kit_test") || strings.Contains(e.Message, "echoRequest") {
			t.Fatalf("body %q: message %q shows internals", body, e.Message)
		}
	})
}

// FuzzPathAndQuery: whatever path and query a request names, the handler
// reads valid UTF-8, or the request is refused with invalid_utf8 first.
func FuzzPathAndQuery(f *testing.F) {
	for _, s := range [][2]string{{"a", "q=b"}, {"%FF", ""}, {"a%E7%BF", ""}, {"a", "q=%FF"}, {"a", "%C0%AF=1"}, {"a", "q=ok&q=%ED%A0%80"},
		{"%E7%BF%81", "q=%E5%8E%BF"}, {"a", "q=%zz&r=%FF"}, {"a", ";q=%FF"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, query string) {
		var seen *http.Request
		h := kit.Handler(quiet, prometheus.NewRegistry(), kit.Route{Method: http.MethodGet, Pattern: "/items/{name}", Name: "item",
			Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r })})
		req, err := http.NewRequest("GET", "http://countycloud/items/"+name+"?"+query, nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if seen == nil {
			if rec.Code == http.StatusBadRequest && !strings.Contains(rec.Body.String(), errs.CodeInvalidUTF8) {
				t.Fatalf("%s: %d %s", req.URL, rec.Code, rec.Body)
			}
			return
		}
		if !utf8.ValidString(seen.URL.Path) || !utf8.ValidString(seen.PathValue("name")) {
			t.Fatalf("%s: the handler read the path %q", req.URL, seen.URL.Path)
		}
		for k, vs := range seen.URL.Query() {
			if !utf8.ValidString(k) || !utf8.ValidString(strings.Join(vs, "")) {
				t.Fatalf("%s: the handler read the query %q=%q", req.URL, k, vs)
			}
		}
	})
}

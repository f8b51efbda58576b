// Package kit is the go-kit glue every domain's transport shares: one error
// format, JSON decoding with limits, request ids, structured request logs,
// Prometheus metrics per endpoint, health probes and graceful serving.
package kit

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/countycloud/countycloud/core/errs"
)

// Route is one endpoint: a method and a ServeMux path pattern, the name
// its logs and metrics carry, and its handler. MaxBody raises the body
// limit above MaxBodyBytes for a route that takes files. Secret marks a
// route whose answers carry a secret (a token, a password): no cache,
// the browser's included, may keep them.
type Route struct {
	Method  string
	Pattern string
	Name    string
	Handler http.Handler
	MaxBody int64
	Secret  bool
}

// ServerOptions are the go-kit transport options every endpoint uses.
func ServerOptions(log *slog.Logger, extra ...httptransport.ServerOption) []httptransport.ServerOption {
	return append([]httptransport.ServerOption{httptransport.ServerErrorEncoder(ErrorEncoder(log))}, extra...)
}

// Handler assembles routes into the platform's HTTP handler: every request
// gets a request id, a JSON log line, metrics under its route's name, a
// body limit and recovery from panics, and every answer the headers that
// keep it from being sniffed or framed. Unknown paths and methods get the
// one error format too. /metrics serves reg's gatherer.
func Handler(log *slog.Logger, reg *prometheus.Registry, routes ...Route) http.Handler {
	m := newMetrics(reg)
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	encode := ErrorEncoder(log)
	for _, rt := range routes {
		h := limitBody(rt.MaxBody, validText(encode, rt.Handler))
		if rt.Secret {
			h = noStore(h)
		}
		mux.Handle(rt.Method+" "+rt.Pattern, instrument(log, m, rt.Name, h))
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for pattern, methods := range allowed {
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		mux.Handle(pattern, instrument(log, m, "method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			encode(r.Context(), errs.E(errs.KindMethodNotAllowed, errs.CodeMethodNotAllowed, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow), w)
		})))
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", instrument(log, m, "not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(r.Context(), errs.NotFound(errs.CodeNotFound, "no endpoint at %s %s", r.Method, r.URL.Path), w)
	})))
	return withSafetyHeaders(withRequestID(mux))
}

// noStore keeps every answer of next out of caches.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// frameAncestors is the Content-Security-Policy directive that keeps an
// answer out of every frame.
const frameAncestors = "frame-ancestors 'none'"

// withSafetyHeaders has every answer, whoever writes it (an endpoint, the
// error encoder, a module, the file server), say that it is to be taken
// for the type it names and never shown in a frame: a browser then
// neither runs an answer as a script or page it is not, nor lets another
// site lay the platform's pages under its own (clickjacking).
func withSafetyHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &safetyWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		// An answer with nothing written is sent once next returns.
		sw.seal()
	})
}

// safetyWriter adds the safety headers as the answer's headers are sent,
// to what the handler set: a policy of its own (the file server's
// sandbox) gains the frame denial rather than losing it.
type safetyWriter struct {
	http.ResponseWriter
	sealed bool
}

func (w *safetyWriter) seal() {
	if w.sealed {
		return
	}
	w.sealed = true
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	switch csp := h.Get("Content-Security-Policy"); {
	case csp == "":
		h.Set("Content-Security-Policy", frameAncestors)
	case !strings.Contains(csp, "frame-ancestors"):
		h.Set("Content-Security-Policy", csp+"; "+frameAncestors)
	}
}

func (w *safetyWriter) WriteHeader(code int) {
	w.seal()
	w.ResponseWriter.WriteHeader(code)
}

func (w *safetyWriter) Write(b []byte) (int, error) {
	w.seal()
	return w.ResponseWriter.Write(b)
}

func (w *safetyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countycloud_http_requests_total",
			Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "countycloud_http_request_duration_seconds",
			Help:    "HTTP request latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"endpoint"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// statusWriter remembers the status and size of a response for logs and
// metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func instrument(log *slog.Logger, m *metrics, name string, next http.Handler) http.Handler {
	encode := ErrorEncoder(log)
	latency := m.latency.WithLabelValues(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic serving request", "panic", fmt.Sprint(p))
				if sw.status == 0 {
					encode(r.Context(), fmt.Errorf("panic: %v", p), sw)
				}
			}
			elapsed := time.Since(start)
			latency.Observe(elapsed.Seconds())
			m.requests.WithLabelValues(name, strconv.Itoa(sw.status)).Inc()
			if !log.Enabled(r.Context(), slog.LevelInfo) {
				return
			}
			log.InfoContext(r.Context(), "request",
				"endpoint", name,
				"method", r.Method,
				"path", r.URL.Path,
				"status", sw.status,
				"duration_ms", float64(elapsed.Microseconds())/1000,
				"bytes", sw.bytes,
				"remote", r.RemoteAddr)
		}()
		next.ServeHTTP(sw, r)
	})
}

// limitBody caps the request body at limit, MaxBodyBytes if zero.
func limitBody(limit int64, next http.Handler) http.Handler {
	if limit == 0 {
		limit = MaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// validText refuses a path or query that is not valid UTF-8 once
// unescaped, before anything reads it: the database would refuse the
// string, a failure of the platform's instead of the caller's.
func validText(encode func(context.Context, error, http.ResponseWriter), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkText(r.URL); err != nil {
			encode(r.Context(), err, w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func checkText(u *url.URL) error {
	if !utf8.ValidString(u.Path) {
		return errs.Invalid(errs.CodeInvalidUTF8, "the path is not valid UTF-8 once unescaped")
	}
	if u.RawQuery == "" {
		return nil
	}
	// ParseQuery keeps what it can unescape, which is what handlers read.
	q, _ := url.ParseQuery(u.RawQuery)
	for name, values := range q {
		if !utf8.ValidString(name) {
			return errs.Invalid(errs.CodeInvalidUTF8, "a query parameter's name is not valid UTF-8 once unescaped")
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return errs.Invalid(errs.CodeInvalidUTF8, "query parameter %s is not valid UTF-8 once unescaped", name)
			}
		}
	}
	return nil
}

type requestIDKey struct{}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID gives every request an id: the caller's, if it sent a sane
// one (a proxy's, say), else a fresh random one.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			// Request ids need to be unique, not secret: the runtime's
			// generator spares the system call crypto/rand makes.
			id = strconv.FormatUint(rand.Uint64(), 36)
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := WithRequestID(r.Context(), id)
		ctx = context.WithValue(ctx, sourceKey{}, sourceOf(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type sourceKey struct{}

// sourceOf is the address a request came from. Behind the chart's
// ingress that is the ingress's; trusting X-Forwarded-For would let any
// caller choose what the audit trail and the login throttle see.
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// WithSource is ctx of work whose audit entries name source as where it
// came from instead of an address: a plugin that drove it, say.
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

// SourceAddr is the address the request of ctx came from, or "".
func SourceAddr(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// WithRequestID is ctx of request id: work done for a request outside
// its HTTP handler, such as a module's calls back to the host.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler adds the request id of the context to every record, so that
// a service's log lines join their request's.
type LogHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}

// pending is a request whose decoding waits until the guard has admitted
// it: a caller who may not use a route learns nothing from how its body
// is checked.
type pending struct {
	r   *http.Request
	dec httptransport.DecodeRequestFunc
}

// Deferred is a decoder that keeps the request for Decoded to decode.
func Deferred(dec httptransport.DecodeRequestFunc) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) { return pending{r: r, dec: dec}, nil }
}

// Decoded decodes a Deferred request; placed inside the guard, it runs
// only for admitted callers.
func Decoded(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		if p, ok := request.(pending); ok {
			v, err := p.dec(ctx, p.r)
			if err != nil {
				return nil, err
			}
			request = v
		}
		return next(ctx, request)
	}
}

// NewServer serves endpoint e behind mw (the route's guard), decoding the
// request only once mw has admitted it.
func NewServer(mw endpoint.Middleware, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc, opts ...httptransport.ServerOption) http.Handler {
	return httptransport.NewServer(mw(Decoded(e)), Deferred(dec), enc, opts...)
}

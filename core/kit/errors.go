package kit

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// StatusOf maps an error kind to its HTTP status. This is the only place
// the mapping is made.
func StatusOf(k errs.Kind) int {
	switch k {
	case errs.KindInvalid:
		return http.StatusBadRequest
	case errs.KindNotFound:
		return http.StatusNotFound
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindUnauthenticated:
		return http.StatusUnauthorized
	case errs.KindForbidden:
		return http.StatusForbidden
	case errs.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case errs.KindUnavailable:
		return http.StatusServiceUnavailable
	case errs.KindTooManyRequests:
		return http.StatusTooManyRequests
	case errs.KindUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case errs.KindBadGateway:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the stable code and a human-readable message, and
// details where a single message cannot say everything.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// classify turns any error into an *errs.Error: a database that cannot be
// reached is unavailable, anything else unknown is internal.
func classify(err error) *errs.Error {
	e := errs.As(err)
	if e.Kind == errs.KindInternal && store.Unreachable(err) {
		return errs.Unavailable(err, errs.CodeDBUnavailable, "the database cannot be reached; retry shortly")
	}
	return e
}

// ErrorEncoder writes err in the one error format. Internal errors are
// logged with their cause and shown to the caller only as a request id.
func ErrorEncoder(log *slog.Logger) func(ctx context.Context, err error, w http.ResponseWriter) {
	return func(ctx context.Context, err error, w http.ResponseWriter) {
		e := classify(err)
		status := StatusOf(e.Kind)
		msg := e.Message
		if status >= 500 {
			log.ErrorContext(ctx, "request failed", "code", e.Code, "err", err)
			if e.Kind == errs.KindInternal {
				msg = "internal error; quote request id " + RequestID(ctx) + " when reporting it"
			}
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
		if e.Kind == errs.KindUnauthenticated {
			w.Header().Set("WWW-Authenticate", `Bearer realm="countycloud"`)
		}
		writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: msg, Details: e.Details}})
	}
}

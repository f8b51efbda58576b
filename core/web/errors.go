package web

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
)

// errorView is the error page's: what went wrong, in the page's language,
// and its stable code for whoever reports it.
type errorView struct {
	Message string
	Code    string
}

// fail answers err as a page: the status the API would answer, and a
// message in l that says what to do.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, l Lang, err error) {
	e := errs.As(err)
	if e.Kind == errs.KindInternal && store.Unreachable(err) {
		e = errs.Unavailable(err, errs.CodeDBUnavailable, "the database cannot be reached; retry shortly")
	}
	var msg string
	switch {
	case e.Code == CodeCSRF:
		msg = l.T("error.csrf")
	case e.Code == auth.CodePasswordChange:
		msg = l.T("error.password_change")
	case e.Code == CodeUnknownCity:
		msg = l.T("error.unknown_city", e.Details)
	case e.Code == CodeUnknownPhase:
		msg = l.T("error.unknown_phase", e.Details)
	case e.Kind == errs.KindForbidden:
		msg = l.T("error.forbidden")
	case e.Kind == errs.KindTooManyRequests:
		setRetryAfter(w, e)
		msg = l.T("error.too_many", showWait(l, e.RetryAfter))
	case e.Kind == errs.KindUnavailable:
		c.log.ErrorContext(r.Context(), "console page failed", "code", e.Code, "err", err)
		msg = l.T("error.unavailable")
	case e.Kind == errs.KindInternal:
		c.log.ErrorContext(r.Context(), "console page failed", "code", e.Code, "err", err)
		msg = l.T("error.internal", kit.RequestID(r.Context()))
	default:
		msg = l.T("error.invalid")
	}
	c.render(w, r, statusOf(e), "error", l, pageData{body: errorView{Message: msg, Code: e.Code}})
}

// statusOf is the HTTP status of e, as the API answers it.
func statusOf(e *errs.Error) int { return kit.StatusOf(e.Kind) }

func setRetryAfter(w http.ResponseWriter, e *errs.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
}

// showWait is how long to wait, in whole seconds or minutes.
func showWait(l Lang, d time.Duration) string {
	if d < time.Minute {
		return l.T("age.seconds", int(math.Ceil(d.Seconds())))
	}
	return l.T("age.minutes", int(math.Ceil(d.Minutes())))
}

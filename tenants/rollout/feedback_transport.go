package rollout

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves the trial's feedback under /v1/tenants/{code}/rollout/feedback
// and a vendor's across the counties:
//
//	GET   …/rollout/feedback?module=&unit=&status=&overdue=&before=&limit=   the items the caller may see, newest first
//	POST  …/rollout/feedback                 {"module": "oa", "unit_id": 3, "title": "…", "description": "…"}
//	GET   …/rollout/feedback/{id}            one item with its history
//	POST  …/rollout/feedback/{id}/assign     {"note": "…"}: to the module's vendor
//	POST  …/rollout/feedback/{id}/answer     {"note": "the answer"}: the vendor's
//	POST  …/rollout/feedback/{id}/confirm    {"note": "…"}
//	POST  …/rollout/feedback/{id}/reopen     {"note": "why"}
//	GET   /v1/vendors/{vendor}/feedback?…    the vendor's items in every county that enabled its modules
func (s *Feedback) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}/rollout/feedback"
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, status int) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name), e, dec, kit.EncodeJSON(status), opts...)}
	}
	step := func(name string, act func(context.Context, string, int64, NoteInput) (FeedbackItem, error)) kit.Route {
		return route("POST", base+"/{id}/"+name, "rollout.feedback."+name, func(ctx context.Context, req any) (any, error) {
			r := req.(feedbackRequest[NoteInput])
			return act(ctx, r.county, r.id, r.in)
		}, decodeFeedback[NoteInput], http.StatusOK)
	}
	return []kit.Route{
		route("GET", base, "rollout.feedback.list", func(ctx context.Context, req any) (any, error) {
			r := req.(feedbackRequest[FeedbackFilter])
			return s.List(ctx, r.county, r.in)
		}, decodeFeedbackFilter, http.StatusOK),
		route("POST", base, "rollout.feedback.report", func(ctx context.Context, req any) (any, error) {
			r := req.(body[ReportInput])
			return s.Report(ctx, r.county, r.in)
		}, decodeBody[ReportInput], http.StatusCreated),
		route("GET", base+"/{id}", "rollout.feedback.get", func(ctx context.Context, req any) (any, error) {
			r := req.(feedbackRequest[struct{}])
			return s.Get(ctx, r.county, r.id)
		}, decodeFeedbackID, http.StatusOK),
		step("assign", s.Assign),
		step("answer", s.Answer),
		step("confirm", s.Confirm),
		step("reopen", s.Reopen),
		route("GET", "/v1/vendors/{vendor}/feedback", "rollout.feedback.vendor", func(ctx context.Context, req any) (any, error) {
			r := req.(feedbackRequest[FeedbackFilter])
			return s.VendorList(ctx, r.vendor, r.in)
		}, decodeFeedbackFilter, http.StatusOK),
	}
}

type feedbackRequest[T any] struct {
	county string
	vendor string
	id     int64
	in     T
}

func feedbackID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFound(CodeFeedbackNotFound, "no feedback %q", r.PathValue("id"))
	}
	return id, nil
}

func decodeFeedbackID(_ context.Context, r *http.Request) (any, error) {
	id, err := feedbackID(r)
	return feedbackRequest[struct{}]{county: r.PathValue("code"), id: id}, err
}

func decodeFeedback[T any](_ context.Context, r *http.Request) (any, error) {
	id, err := feedbackID(r)
	if err != nil {
		return nil, err
	}
	req := feedbackRequest[T]{county: r.PathValue("code"), id: id}
	return req, kit.DecodeJSON(r, &req.in)
}

func decodeFeedbackFilter(_ context.Context, r *http.Request) (any, error) {
	f, err := ParseFeedbackFilter(r.URL.Query())
	return feedbackRequest[FeedbackFilter]{county: r.PathValue("code"), vendor: r.PathValue("vendor"), in: f}, err
}

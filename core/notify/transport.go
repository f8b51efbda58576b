package notify

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves a county's notifications under
// /v1/tenants/{code}/notifications. The caller's own:
//
//	GET       ?unread=true&before=&limit=   the inbox, newest first, with the unread count
//	POST      /{id}/read                    mark one read
//	GET, PUT  /preferences                  {"preferences": [{"kind": "task_assigned", "email": true, "sms": false}]}
//
// The county admin's:
//
//	GET, PUT  /sms-gateway                  {"url": "https://…", "token": "…", "sign": "翁源县政务服务"}; the token is never shown
//	GET       /outbox?status=&channel=&before=&limit=   e-mail and SMS with their delivery status
//	POST      /outbox/{id}/retry            a failed one, again
//	POST      /test                         {"unit_id": 3, "subject": "…", "body": "…", "sms": true}, or "account_ids": […]
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}/notifications"
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc) kit.Route {
		return kit.Route{Method: method, Pattern: base + path, Name: name, Handler: kit.NewServer(guard(name), e, dec, ok, opts...)}
	}
	return []kit.Route{
		route("GET", "", "notifications.inbox", own(func(ctx context.Context, account int64, r request) (any, error) {
			f := InboxFilter{}
			var err error
			if f.Unread, err = queryBool(r.query, "unread"); err != nil {
				return nil, err
			}
			if f.Before, err = kit.QueryInt(r.query, "before", CodeInvalidList); err != nil {
				return nil, err
			}
			limit, err := kit.QueryInt(r.query, "limit", CodeInvalidList)
			f.Limit = int(limit)
			if err != nil {
				return nil, err
			}
			return s.Inbox(ctx, r.tenant, account, f)
		}), decodeRequest),
		route("POST", "/{id}/read", "notifications.read", own(func(ctx context.Context, account int64, r request) (any, error) {
			return s.MarkRead(ctx, r.tenant, account, r.id)
		}), decodeRequest),
		route("GET", "/preferences", "notifications.preferences.get", own(func(ctx context.Context, account int64, r request) (any, error) {
			return s.Preferences(ctx, r.tenant, account)
		}), decodeRequest),
		route("PUT", "/preferences", "notifications.preferences.set", own(func(ctx context.Context, account int64, r request) (any, error) {
			return s.SetPreferences(ctx, r.tenant, account, r.body.(PreferencesInput))
		}), decodeBody[PreferencesInput]),
		route("GET", "/sms-gateway", "notifications.sms_gateway.get", func(ctx context.Context, req any) (any, error) {
			return s.Gateway(ctx, req.(request).tenant)
		}, decodeRequest),
		route("PUT", "/sms-gateway", "notifications.sms_gateway.set", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.SetGateway(ctx, r.tenant, r.body.(GatewayInput))
		}, decodeBody[GatewayInput]),
		route("GET", "/outbox", "notifications.outbox", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			f := OutboxFilter{Status: r.query.Get("status"), Channel: r.query.Get("channel")}
			var err error
			if f.Before, err = kit.QueryInt(r.query, "before", CodeInvalidList); err != nil {
				return nil, err
			}
			limit, err := kit.QueryInt(r.query, "limit", CodeInvalidList)
			f.Limit = int(limit)
			if err != nil {
				return nil, err
			}
			return s.Outbox(ctx, r.tenant, f)
		}, decodeRequest),
		route("POST", "/outbox/{id}/retry", "notifications.retry", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Retry(ctx, r.tenant, r.id)
		}, decodeRequest),
		route("POST", "/test", "notifications.test", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.SendTest(ctx, r.tenant, r.body.(TestNotice))
		}, decodeBody[TestNotice]),
	}
}

// request is what every notification endpoint receives.
type request struct {
	tenant string
	id     int64
	query  url.Values
	body   any
}

// decodeRequest reads the county, the query and, if the route's path
// has one, the id.
func decodeRequest(_ context.Context, r *http.Request) (any, error) {
	req := request{tenant: r.PathValue("code"), query: r.URL.Query()}
	if s := r.PathValue("id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, errs.NotFound(CodeNotificationNotFound, "no notification %q", s)
		}
		req.id = id
	}
	return req, nil
}

// decodeBody is decodeRequest with a JSON body of type T.
func decodeBody[T any](ctx context.Context, r *http.Request) (any, error) {
	req, err := decodeRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	var body T
	if err := kit.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	rq := req.(request)
	rq.body = body
	return rq, nil
}

// own adapts an endpoint over the caller's own notifications: only a
// county's accounts have them. The guard has bound the account to the
// path's county already.
func own(fn func(ctx context.Context, account int64, r request) (any, error)) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		p := auth.PrincipalFrom(ctx)
		if p.Kind != auth.KindAccount || p.ID == 0 {
			return nil, errs.NotFound(CodeNoInbox, "only a county's accounts have notifications; an operator has none (see the county's outbox instead)")
		}
		return fn(ctx, p.ID, req.(request))
	}
}

func queryBool(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errs.Invalid(CodeInvalidList, "%s %q is not true or false", name, s)
	}
	return b, nil
}

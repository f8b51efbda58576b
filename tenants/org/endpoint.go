package org

import (
	"context"
	"net/url"
	"strconv"

	"github.com/go-kit/kit/endpoint"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// request is what every organisation endpoint receives: the county from
// the path, a resource id if the path has one, the query and the body.
type request[T any] struct {
	Tenant string
	ID     int64
	Query  url.Values
	Body   T
}

// file is a download.
type file struct {
	Name        string
	ContentType string
	Data        []byte
}

// handle adapts a typed endpoint function to go-kit's.
func handle[T any](fn func(ctx context.Context, r request[T]) (any, error)) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) { return fn(ctx, req.(request[T])) }
}

// actor names who acts, for the records that keep it.
func actor(ctx context.Context) string {
	a := audit.ActorFrom(ctx)
	return a.Kind + ":" + a.Login
}

func listAccounts(svc Service) endpoint.Endpoint {
	return handle(func(ctx context.Context, r request[struct{}]) (any, error) {
		unit, err := kit.QueryInt(r.Query, "unit_id", CodeInvalidList)
		if err != nil {
			return nil, err
		}
		after, err := kit.QueryInt(r.Query, "after", CodeInvalidList)
		if err != nil {
			return nil, err
		}
		limit, err := kit.QueryInt(r.Query, "limit", CodeInvalidList)
		if err != nil {
			return nil, err
		}
		return svc.ListAccounts(ctx, r.Tenant, AccountFilter{UnitID: unit, Status: r.Query.Get("status"), After: after, Limit: int(limit)})
	})
}

func importFile(svc Service) endpoint.Endpoint {
	return handle(func(ctx context.Context, r request[[]byte]) (any, error) {
		dryRun := false
		if s := r.Query.Get("dry_run"); s != "" {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return nil, errs.Invalid(CodeInvalidList, "dry_run %q is not true or false", s)
			}
			dryRun = v
		}
		return svc.Import(ctx, r.Tenant, r.Body, dryRun)
	})
}

func template(svc Service) endpoint.Endpoint {
	return handle(func(ctx context.Context, r request[struct{}]) (any, error) {
		format := r.Query.Get("format")
		if format == "" {
			format = TemplateXLSX
		}
		data, err := svc.Template(ctx, r.Tenant, format)
		if err != nil {
			return nil, err
		}
		return templateFile(format, data), nil
	})
}

func templateFile(format string, data []byte) file {
	contentType := "text/csv; charset=utf-8"
	if format == TemplateXLSX {
		contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return file{Name: "staffing-template." + format, ContentType: contentType, Data: data}
}

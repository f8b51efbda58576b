package rollout

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves the usage reports and the province's targets:
//
//	GET   /v1/rollout/reports?county=&kind=&period=&after=&limit=   the archived reports (operators)
//	GET   /v1/rollout/reports/{id}?format=json|csv|xlsx             one report
//	GET   /v1/rollout/targets                                        the province's targets
//	PUT   /v1/rollout/targets                                        {"docs_online_rate": 80, …}, whole
//	GET   …/rollout/reports?kind=&period=&after=&limit=              a county's reports (its administrators too)
//	GET   …/rollout/reports/{id}?format=json|csv|xlsx
//	POST  …/rollout/reports                                          {"period": "2026-11-16"}: a missed half-month
func (s *ReportService) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const county = "/v1/tenants/{code}/rollout/reports"
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	list := func(ctx context.Context, req any) (any, error) { return s.List(ctx, req.(ReportFilter)) }
	get := func(ctx context.Context, req any) (any, error) {
		r := req.(fileRequest)
		report, body, err := s.Document(ctx, r.county, r.id)
		if err != nil {
			return nil, err
		}
		data, contentType, err := Render(body, r.format)
		return reportFile{Report: report, format: r.format, contentType: contentType, data: data}, err
	}
	return []kit.Route{
		route("GET", "/v1/rollout/reports", "rollout.reports.list", list, decodeReportFilter, ok),
		route("GET", "/v1/rollout/reports/{id}", "rollout.reports.get", get, decodeFileRequest, encodeReportFile),
		route("GET", "/v1/rollout/targets", "rollout.targets.get", func(ctx context.Context, _ any) (any, error) {
			return s.Targets(ctx)
		}, decodeNothing, ok),
		route("PUT", "/v1/rollout/targets", "rollout.targets.set", func(ctx context.Context, req any) (any, error) {
			return s.SetTargets(ctx, req.(map[string]float64))
		}, func(_ context.Context, r *http.Request) (any, error) {
			var in map[string]float64
			return in, kit.DecodeJSON(r, &in)
		}, ok),
		route("GET", county, "rollout.county.reports.list", list, decodeReportFilter, ok),
		route("GET", county+"/{id}", "rollout.county.reports.get", get, decodeFileRequest, encodeReportFile),
		route("POST", county, "rollout.reports.generate", func(ctx context.Context, req any) (any, error) {
			r := req.(body[GenerateInput])
			return s.GenerateHalfMonth(ctx, r.county, r.in.Period)
		}, decodeBody[GenerateInput], ok),
	}
}

// GenerateInput asks for a county's report of the half-month starting on
// Period.
type GenerateInput struct {
	Period string `json:"period"`
}

// ParseReportFilter reads a listing's query: county (on the operators'
// route), kind, period, after, limit. A county's route lists its own.
func ParseReportFilter(q url.Values, county string) (ReportFilter, error) {
	allowed := []string{"kind", "period", "after", "limit"}
	if county == "" {
		allowed = append(allowed, "county")
	}
	for name, v := range q {
		if !slices.Contains(allowed, name) {
			return ReportFilter{}, errs.Invalid(CodeInvalidReportReq, "unknown parameter %q: the parameters are %v", name, allowed)
		}
		if len(v) > 1 {
			return ReportFilter{}, errs.Invalid(CodeInvalidReportReq, "%s is given %d times", name, len(v))
		}
	}
	f := ReportFilter{County: q.Get("county"), Kind: q.Get("kind"), Period: q.Get("period")}
	if county != "" {
		f.County = county
	}
	if f.Kind != "" && f.Kind != KindHalfMonth && f.Kind != KindEndOfTrial {
		return ReportFilter{}, errs.Invalid(CodeInvalidReportReq, "kind %q: %s or %s", f.Kind, KindHalfMonth, KindEndOfTrial)
	}
	if d, err := time.Parse(time.DateOnly, f.Period); f.Period != "" && (err != nil || d.Format(time.DateOnly) != f.Period) {
		return ReportFilter{}, errs.Invalid(CodeInvalidReportReq, "period %q: a report's first day, such as 2026-11-16", f.Period)
	}
	after, err := kit.QueryInt(q, "after", CodeInvalidReportReq)
	if err != nil {
		return ReportFilter{}, err
	}
	limit, err := kit.QueryInt(q, "limit", CodeInvalidReportReq)
	if err != nil {
		return ReportFilter{}, err
	}
	if limit > MaxReportPage {
		return ReportFilter{}, errs.Invalid(CodeInvalidReportReq, "limit %d: at most %d", limit, MaxReportPage)
	}
	f.After, f.Limit = after, int(limit)
	return f, nil
}

func decodeReportFilter(_ context.Context, r *http.Request) (any, error) {
	return ParseReportFilter(r.URL.Query(), r.PathValue("code"))
}

// fileRequest asks for report id, of county on a county's route, in
// format.
type fileRequest struct {
	county string
	id     int64
	format string
}

func decodeFileRequest(_ context.Context, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.Invalid(CodeInvalidReportReq, "report %q: a report's id", r.PathValue("id"))
	}
	q := r.URL.Query()
	for name := range q {
		if name != "format" {
			return nil, errs.Invalid(CodeInvalidReportReq, "unknown parameter %q: the one parameter is format", name)
		}
	}
	format := q.Get("format")
	if format == "" {
		format = FormatJSON
	}
	if !slices.Contains([]string{FormatJSON, FormatCSV, FormatXLSX}, format) || len(q["format"]) > 1 {
		return nil, errs.Invalid(CodeInvalidReportReq, "format %q: json, csv or xlsx", format)
	}
	return fileRequest{county: r.PathValue("code"), id: id, format: format}, nil
}

// reportFile is a report's document in a format.
type reportFile struct {
	Report
	format      string
	contentType string
	data        []byte
}

// encodeReportFile sends the document with the digest of the archived
// JSON it is (or was rendered from).
func encodeReportFile(_ context.Context, w http.ResponseWriter, response any) error {
	f := response.(reportFile)
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Disposition", `attachment; filename="report-`+strconv.FormatInt(f.ID, 10)+`.`+f.format+`"`)
	h.Set("Content-Length", strconv.Itoa(len(f.data)))
	h.Set("X-Report-SHA256", f.SHA256)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(f.data)
	return err
}

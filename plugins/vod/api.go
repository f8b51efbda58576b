package vod

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Error codes of the module's answers, in {"error":{"code":…,"message":…}}.
const (
	codeRouteNotFound    = "route_not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInvalidJSON      = "invalid_json"
	codeInvalidQuery     = "invalid_query"
	codeInvalidVideo     = "invalid_video"
	codeVideoNotFound    = "video_not_found"
	codeVersionConflict  = "version_conflict"
	codeVideoNotReady    = "video_not_ready"
	codeUploadIncomplete = "upload_incomplete"
	codeForbidden        = "forbidden"
	codeReportTooLarge   = "report_too_large"
	codeBusy             = "busy"
	codeHostRefused      = "host_refused"
)

// apiError is an answer to the caller rather than a fault of the module:
// serve writes it as the response instead of failing the call.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, code, format, args...)
}

func forbidden(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, codeForbidden, format, args...)
}

func videoNotFound(id string) *apiError {
	return newError(http.StatusNotFound, codeVideoNotFound, "no video %s in this county", id)
}

// fromHost turns the host's refusals into answers to the caller; any
// other failure stays an error, which the host logs and answers as the
// module's failure.
func fromHost(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sdk.ErrConflict):
		return newError(http.StatusConflict, codeVersionConflict, "%s changed meanwhile; read it again and retry with its new version", what)
	case errors.Is(err, sdk.ErrNotReady):
		return newError(http.StatusConflict, codeVideoNotReady, "%s is not ready: its file's bytes have not all arrived", what)
	case errors.Is(err, sdk.ErrInvalid):
		return badRequest(codeHostRefused, "the host refused %s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func errorResponse(e *apiError) *sdk.Response {
	return sdk.ErrorResponse(e.status, e.code, e.message)
}

// maxBodyBytes bounds the JSON the module decodes; its bodies are a few
// short fields, and a video's bytes never come this way.
const maxBodyBytes = 64 << 10

// decodeBody decodes exactly one JSON object into v, refusing unknown
// fields so that a misspelt one is reported rather than ignored.
func decodeBody(body []byte, v any) error {
	if err := sdk.DecodeJSON(body, maxBodyBytes, v); err != nil {
		return badRequest(codeInvalidJSON, "%v", err)
	}
	return nil
}

// Routes of the module, under /v1/tenants/{code}/modules/vod.
type route int

const (
	routeCategories route = iota + 1
	routeListVideos
	routeCreateVideo
	routeGetVideo
	routeUpdateVideo
	routeDeleteVideo
	routeCompleteUpload
	routePlayback
	routeRecordView
	routeViewReport
)

// target is a parsed request path: its route and the video it names.
type target struct {
	route route
	video string
}

// parseRoute finds the route of method and path, the part after the
// module's prefix; the package's documentation lists them.
func parseRoute(method, path string) (target, *apiError) {
	notFound := newError(http.StatusNotFound, codeRouteNotFound, "module vod has no route %s", path)
	if !strings.HasPrefix(path, "/") {
		return target{}, notFound
	}
	segs := strings.Split(path[1:], "/")
	var methods map[string]route
	var video string
	switch {
	case len(segs) == 1 && segs[0] == "categories":
		methods = map[string]route{http.MethodGet: routeCategories}
	case len(segs) == 1 && segs[0] == "videos":
		methods = map[string]route{http.MethodGet: routeListVideos, http.MethodPost: routeCreateVideo}
	case len(segs) == 2 && segs[0] == "videos":
		video = segs[1]
		methods = map[string]route{http.MethodGet: routeGetVideo, http.MethodPatch: routeUpdateVideo, http.MethodDelete: routeDeleteVideo}
	case len(segs) == 3 && segs[0] == "videos":
		video = segs[1]
		switch segs[2] {
		case "complete":
			methods = map[string]route{http.MethodPost: routeCompleteUpload}
		case "playback":
			methods = map[string]route{http.MethodGet: routePlayback}
		case "views":
			methods = map[string]route{http.MethodPost: routeRecordView}
		default:
			return target{}, notFound
		}
	case len(segs) == 2 && segs[0] == "reports" && segs[1] == "views":
		methods = map[string]route{http.MethodGet: routeViewReport}
	default:
		return target{}, notFound
	}
	r, ok := methods[method]
	if !ok {
		allowed := make([]string, 0, len(methods))
		for m := range methods {
			allowed = append(allowed, m)
		}
		slices.Sort(allowed)
		return target{}, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "%s %s is not a route; %s takes %s", method, path, path, strings.Join(allowed, ", "))
	}
	// An id that could not be one of ours is not worth a call to the
	// host.
	if len(segs) > 1 && segs[0] == "videos" && !sdk.ValidNewestFirstID(video) {
		return target{}, videoNotFound(video)
	}
	return target{route: r, video: video}, nil
}

// parseQuery reads a query string, refusing parameters other than
// allowed and repeated ones, so that a misspelt filter is reported
// rather than silently widening the answer.
func parseQuery(raw string, allowed ...string) (map[string]string, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest(codeInvalidQuery, "the query string is malformed: %v", err)
	}
	out := make(map[string]string, len(values))
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if !slices.Contains(allowed, name) {
			return nil, badRequest(codeInvalidQuery, "unknown query parameter %q; this route takes %s", name, strings.Join(allowed, ", "))
		}
		if len(values[name]) > 1 {
			return nil, badRequest(codeInvalidQuery, "query parameter %s is given %d times", name, len(values[name]))
		}
		out[name] = values[name][0]
	}
	return out, nil
}

// positiveID reads a unit's or an account's id from a query parameter.
func positiveID(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, badRequest(codeInvalidQuery, "%s %q is not a positive whole number", name, s)
	}
	return n, nil
}

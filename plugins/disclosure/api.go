package disclosure

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
// docs/disclosure.md lists them with their statuses.
const (
	codeRouteNotFound    = "route_not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInvalidJSON      = "invalid_json"
	codeInvalidQuery     = "invalid_query"
	codeForbidden        = "forbidden"
	codeVersionConflict  = "version_conflict"
	codeHostRefused      = "host_refused"
	codeBusy             = "busy"
	codeUnknownUnit      = "unknown_unit"
	codeNotFound         = "not_found"
	codeInvalidProfile   = "invalid_profile"
	codeInvalidDocument  = "invalid_document"
	codeDocumentNotFound = "document_not_found"
	codeAlreadyPublished = "already_published"
	codeInvalidReport    = "invalid_report"
	codeReportNotFound   = "report_not_found"
	codeReportClosed     = "report_closed"
	codeInvalidFile      = "invalid_file"
	codeFileTooLarge     = "file_too_large"
	codeFileTypeRefused  = "file_type_refused"
	codeTooManyFiles     = "too_many_files"
	codeFileNotFound     = "file_not_found"
	codeFileNotReady     = "file_not_ready"
	codeTooManyDownloads = "too_many_downloads"
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

// fromHost turns the host's refusals into answers to the caller; any
// other failure stays an error, which the host logs and answers as the
// module's failure.
func fromHost(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sdk.ErrConflict):
		return newError(http.StatusConflict, codeVersionConflict, "%s changed meanwhile; read it again and retry with its new version", what)
	case errors.Is(err, sdk.ErrInvalid):
		return badRequest(codeHostRefused, "the host refused %s: %v", what, err)
	case errors.Is(err, sdk.ErrBusy):
		return newError(http.StatusServiceUnavailable, codeBusy, "the host is busy; try %s again shortly", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func errorResponse(e *apiError) *sdk.Response {
	return sdk.ErrorResponse(e.status, e.code, e.message)
}

// maxBodyBytes bounds the JSON the module decodes: a form, a document's
// or a report's text; files' bytes never come this way.
const maxBodyBytes = 256 << 10

// decodeBody decodes exactly one JSON object into v, refusing unknown
// fields so that a misspelt one is reported rather than ignored.
func decodeBody(body []byte, v any) error {
	if err := sdk.DecodeJSON(body, maxBodyBytes, v); err != nil {
		return badRequest(codeInvalidJSON, "%v", err)
	}
	return nil
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
			if len(allowed) == 0 {
				return nil, badRequest(codeInvalidQuery, "unknown query parameter %q; this route takes none", name)
			}
			return nil, badRequest(codeInvalidQuery, "unknown query parameter %q; this route takes %s", name, strings.Join(allowed, ", "))
		}
		if len(values[name]) > 1 {
			return nil, badRequest(codeInvalidQuery, "query parameter %s is given %d times", name, len(values[name]))
		}
		out[name] = values[name][0]
	}
	return out, nil
}

// positiveID reads a unit's or an account's id, from a path or a query.
func positiveID(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, badRequest(codeInvalidQuery, "%s %q is not a positive whole number", name, s)
	}
	return n, nil
}

// asAPIError reports whether err is an answer to the caller, setting ae.
func asAPIError(err error, ae **apiError) bool { return errors.As(err, ae) }

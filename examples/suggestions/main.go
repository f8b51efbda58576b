// Command suggestions is an example CountyCloud module: a county's
// suggestion box (意见箱), where staff file suggestions and see them
// answered, and where citizens leave theirs without an account and
// follow them with a receipt. It uses only the plugin SDK, as a vendor's module would;
// docs/plugins.md walks through building, validating, registering and
// enabling it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func manifest() sdk.Manifest {
	return sdk.Manifest{
		ID: "suggestions", Name: "意见箱", Vendor: "CountyCloud examples", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{"suggestions": {Indexed: []string{"status", "unit"}}},
		Settings: json.RawMessage(`{"type":"object","properties":{"max_length":{"type":"integer","minimum":10,"maximum":2000}},` +
			`"additionalProperties":false}`),
		// Citizens leave a suggestion and follow it by its receipt,
		// without a token, under /v1/public/{county}/modules/suggestions.
		Public: []sdk.PublicRoute{
			{Method: "POST", Path: "/public/suggestions"},
			{Method: "POST", Path: "/public/receipts/{number}"},
		},
	}
}

func main() { sdk.Serve(manifest(), box{}) }

// Suggestion is one suggestion and, once given, its answer.
type Suggestion struct {
	Text     string    `json:"text"`
	Unit     string    `json:"unit"`
	Status   string    `json:"status"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Answer   string    `json:"answer,omitempty"`
	Answered string    `json:"answered_by,omitempty"`
}

type box struct{}

// Handle serves:
//
//	POST /suggestions            {"text": "…"}: file a suggestion (any staff)
//	GET  /suggestions?status=…   list them, open or answered
//	GET  /suggestions/{id}       one
//	POST /suggestions/{id}/answer {"answer": "…", "version": N}: answer it (county admins)
//	POST /public/suggestions     {"text": "…"}: anyone leaves one, and gets a receipt
//	POST /public/receipts/{number} {"code": "…"}: anyone with the receipt follows it
func (box) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case r.Method == "POST" && r.Path == "/public/suggestions":
		return leave(ctx, r)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "public" && parts[1] == "receipts":
		return follow(ctx, r, parts[2])
	case r.Caller.Kind == sdk.CallerAnonymous:
		// The host lets an anonymous caller reach the public routes
		// only; said again here, so that no route below serves one.
		return problem(404, "not_found", "no route %s %s", r.Method, r.Path)
	case r.Method == "POST" && len(parts) == 1 && parts[0] == "suggestions":
		return file(ctx, r)
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "suggestions":
		return list(ctx, r)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "suggestions":
		rec, err := r.Host.Get(ctx, "suggestions", parts[1])
		return reply(200, rec, err)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "suggestions" && parts[2] == "answer":
		return answer(ctx, r, parts[1])
	}
	return problem(404, "not_found", "no route %s %s", r.Method, r.Path)
}

func file(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return problem(400, "invalid_json", "the body is not a JSON object with a text")
	}
	text := strings.TrimSpace(in.Text)
	if n := utf8.RuneCountInString(text); n == 0 || n > 500 {
		return problem(400, "invalid_suggestion", "a suggestion has 1 to 500 characters, not %d", n)
	}
	s := Suggestion{Text: text, Unit: strconv.FormatInt(r.Caller.UnitID, 10), Status: "open", By: r.Caller.Login, At: time.Now().UTC()}
	rec, err := r.Host.Put(ctx, "suggestions", "s-"+strconv.FormatInt(time.Now().UnixNano(), 36), 0, s)
	return reply(201, rec, err)
}

// leave files a citizen's suggestion and answers its receipt: the
// number to quote and the code to follow it with, shown this once.
func leave(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return problem(400, "invalid_json", "the body is not a JSON object with a text")
	}
	text := strings.TrimSpace(in.Text)
	if n := utf8.RuneCountInString(text); n == 0 || n > 500 {
		return problem(400, "invalid_suggestion", "a suggestion has 1 to 500 characters, not %d", n)
	}
	// The suggestion and its receipt are written together, or neither.
	s := Suggestion{Text: text, Status: "open", By: r.Caller.Login, At: time.Now().UTC()}
	done, err := r.Host.Submit(ctx, sdk.Submission{Collection: "suggestions", ID: "s-" + strconv.FormatInt(time.Now().UnixNano(), 36), Document: s})
	if err != nil {
		return hostProblem(err)
	}
	body, err := json.Marshal(map[string]any{"receipt": done.Receipt})
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: 201, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

// follow answers the status and answer of the suggestion of a receipt,
// given its number and its code; a wrong code and an unknown number get
// the same 404. The code comes in the body, not the query string, which
// servers and proxies keep in their logs.
func follow(ctx context.Context, r *sdk.Request, number string) (*sdk.Response, error) {
	var in struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return problem(400, "invalid_json", "the body is not a JSON object with the receipt's code")
	}
	receipt, err := r.Host.LookupReceipt(ctx, number, in.Code)
	if err != nil {
		return hostProblem(err)
	}
	rec, err := r.Host.Get(ctx, receipt.Collection, receipt.RecordID)
	if err != nil {
		return hostProblem(err)
	}
	var s Suggestion
	if err := json.Unmarshal(rec.Document, &s); err != nil {
		return nil, fmt.Errorf("suggestion %s: %w", rec.ID, err)
	}
	body, err := json.Marshal(map[string]any{"number": receipt.Number, "status": s.Status, "answer": s.Answer, "at": s.At})
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

func list(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	q, err := url.ParseQuery(r.Query)
	if err != nil {
		return problem(400, "invalid_query", "the query string is not valid")
	}
	where := map[string]string{}
	if status := q.Get("status"); status != "" {
		if !slices.Contains([]string{"open", "answered"}, status) {
			return problem(400, "invalid_query", "status is open or answered, not %q", status)
		}
		where["status"] = status
	}
	page, err := r.Host.Query(ctx, "suggestions", sdk.Query{Where: where, After: q.Get("after")})
	if err != nil {
		return hostProblem(err)
	}
	body, err := json.Marshal(map[string]any{"suggestions": page.Records, "next_after": page.Next})
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

func answer(ctx context.Context, r *sdk.Request, id string) (*sdk.Response, error) {
	if !slices.Contains(r.Caller.Roles, "system_admin") {
		return problem(403, "forbidden", "only a county admin answers suggestions")
	}
	var in struct {
		Answer  string `json:"answer"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil || strings.TrimSpace(in.Answer) == "" || in.Version < 1 {
		return problem(400, "invalid_answer", "send {\"answer\": \"…\", \"version\": N} with the version you read")
	}
	rec, err := r.Host.Get(ctx, "suggestions", id)
	if err != nil {
		return hostProblem(err)
	}
	var s Suggestion
	if err := json.Unmarshal(rec.Document, &s); err != nil {
		return nil, fmt.Errorf("suggestion %s: %w", id, err)
	}
	s.Status, s.Answer, s.Answered = "answered", strings.TrimSpace(in.Answer), r.Caller.Login
	saved, err := r.Host.Put(ctx, "suggestions", id, in.Version, s)
	return reply(200, saved, err)
}

func reply(status int, rec sdk.Record, err error) (*sdk.Response, error) {
	if err != nil {
		return hostProblem(err)
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

// hostProblem answers with what the host said of a call, as the
// platform's errors look.
func hostProblem(err error) (*sdk.Response, error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return problem(404, "not_found", "%v", err)
	case errors.Is(err, sdk.ErrConflict):
		return problem(409, "conflict", "%v", err)
	case errors.Is(err, sdk.ErrInvalid):
		return problem(400, "invalid", "%v", err)
	}
	return nil, err
}

func problem(status int, code, format string, args ...any) (*sdk.Response, error) {
	body, err := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": fmt.Sprintf(format, args...)}})
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

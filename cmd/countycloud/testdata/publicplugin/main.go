// Command publicplugin is the test module of public routes: a front desk
// (收文台) where anyone leaves a letter and reads it back, and where the
// tests try, as an anonymous caller, the host services that act as an
// account.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Manifest{ID: "desk", Name: "收文台", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{"letters": {}},
		Workflows: map[string]json.RawMessage{"handle": json.RawMessage(`{"name":"办理","version":1,"start":"handle",
"steps":[{"id":"handle","name":"办理","assignee":{"role":"clerk"},"time_limit":{"working_days":2},"actions":[{"name":"done","to":"end"}]}]}`)},
		Public: []sdk.PublicRoute{
			{Method: "POST", Path: "/letters"},
			{Method: "GET", Path: "/letters/{id}"},
			{Method: "POST", Path: "/try/{service}"},
			{Method: "GET", Path: "/answer-cookie"},
		}}, desk{})
}

type desk struct{}

// Handle serves POST /letters (public: keeps the body, answers who
// called), GET /letters/{id} (public), GET /letters (staff only), POST
// /try/{notify,workflow,file,audit} (public: calls that host service)
// and GET /answer-cookie (public: answers with a header the platform
// drops).
func (desk) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	var (
		out any
		err error
	)
	switch {
	case r.Method == "POST" && r.Path == "/letters":
		id := "l" + strconv.FormatInt(time.Now().UnixNano(), 36)
		var rec sdk.Record
		if rec, err = r.Host.Put(ctx, "letters", id, 0, json.RawMessage(r.Body)); err == nil {
			out = map[string]any{"id": rec.ID, "caller": r.Caller}
		}
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "letters":
		out, err = r.Host.Get(ctx, "letters", parts[1])
	case r.Method == "GET" && r.Path == "/letters":
		out, err = r.Host.Query(ctx, "letters", sdk.Query{})
	case r.Method == "POST" && len(parts) == 2 && parts[0] == "try":
		err = try(ctx, r, parts[1])
		out = map[string]string{"done": parts[1]}
	case r.Method == "GET" && r.Path == "/answer-cookie":
		return &sdk.Response{Header: map[string]string{"Set-Cookie": "session=x", "Content-Type": "text/plain; charset=utf-8"}, Body: []byte("ok")}, nil
	default:
		return &sdk.Response{Status: 404, Body: []byte("no such route")}, nil
	}
	switch {
	case errors.Is(err, sdk.ErrDenied):
		return &sdk.Response{Status: 403, Body: []byte(err.Error())}, nil
	case errors.Is(err, sdk.ErrNotFound):
		return &sdk.Response{Status: 404, Body: []byte(err.Error())}, nil
	case err != nil:
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

func try(ctx context.Context, r *sdk.Request, service string) error {
	switch service {
	case "notify":
		return r.Host.Notify(ctx, sdk.Notice{Audiences: []sdk.Audience{{UnitID: 1, Role: "clerk"}}, Subject: "有新来信"})
	case "workflow":
		_, err := r.Host.StartWorkflow(ctx, "handle", "来信")
		return err
	case "file":
		_, err := r.Host.CreateUpload(ctx, "信.pdf", "application/pdf", 10)
		return err
	case "audit":
		return r.Host.Audit(ctx, sdk.AuditEntry{Action: "letter.read", ObjectType: "letter", ObjectID: "l1"})
	}
	return errors.New("no such service")
}

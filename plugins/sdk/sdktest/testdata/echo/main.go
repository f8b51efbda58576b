// Command echo is the module sdktest's own tests run: it answers every
// request with what the host sent it, and its process id.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Manifest{ID: "echo", Name: "回声", Vendor: "sdktest", Version: "0.1.0", Protocol: sdk.ProtocolVersion,
		Settings: json.RawMessage(`{"type":"object","properties":{"greeting":{"type":"string"}},"additionalProperties":false}`)}, echo{})
}

type echo struct{}

// Handle answers GET /fail with an error, which the host turns into its
// own, POST /upload with an upload of 3 bytes, and anything else with the
// request.
func (echo) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var answer any
	switch r.Path {
	case "/fail":
		return nil, errors.New("asked to fail")
	case "/upload":
		u, err := r.Host.CreateUpload(ctx, "three.txt", "text/plain", 3)
		if err != nil {
			return nil, err
		}
		answer = u
	default:
		answer = map[string]any{"method": r.Method, "path": r.Path, "query": r.Query, "body": string(r.Body), "settings": r.Settings,
			"login": r.Caller.Login, "unit": r.Caller.UnitID, "roles": r.Caller.Roles, "pid": os.Getpid()}
	}
	body, err := json.Marshal(answer)
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

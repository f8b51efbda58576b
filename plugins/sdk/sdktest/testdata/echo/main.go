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
// own, and anything else with the request.
func (echo) Handle(_ context.Context, r *sdk.Request) (*sdk.Response, error) {
	if r.Path == "/fail" {
		return nil, errors.New("asked to fail")
	}
	body, err := json.Marshal(map[string]any{"method": r.Method, "path": r.Path, "query": r.Query, "body": string(r.Body),
		"login": r.Caller.Login, "unit": r.Caller.UnitID, "roles": r.Caller.Roles, "pid": os.Getpid()})
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

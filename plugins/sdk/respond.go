package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// JSONResponse answers v as JSON with status; a 204 has no body. A
// module's answers hold people's data and signed URLs, so they are
// marked for no cache to keep.
func JSONResponse(status int, v any) (*Response, error) {
	if status == http.StatusNoContent {
		return &Response{Status: status}, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the answer: %w", err)
	}
	return &Response{Status: status, Header: jsonHeader(), Body: body}, nil
}

// ErrorResponse answers a refusal in the form the platform's own routes
// answer theirs: {"error":{"code":"…","message":"…"}} with status.
func ErrorResponse(status int, code, message string) *Response {
	var r Refusal
	r.Error.Code, r.Error.Message = code, message
	// Two strings cannot fail to encode.
	body, _ := json.Marshal(r)
	return &Response{Status: status, Header: jsonHeader(), Body: body}
}

// Refusal is the body of an ErrorResponse, as a module's tests and
// clients decode it.
type Refusal struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func jsonHeader() map[string]string {
	return map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
}

// DecodeJSON decodes body, of at most limit bytes, as exactly one JSON
// value into v, refusing fields v does not have, so that a misspelt one
// is reported rather than ignored. Its error says what is wrong with the
// body, for a 400 answer.
func DecodeJSON(body []byte, limit int, v any) error {
	if len(body) > limit {
		return fmt.Errorf("the body is %d bytes; at most %d", len(body), limit)
	}
	if onejson.Blank(body) {
		return fmt.Errorf("the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body is not the JSON object expected: %w", err)
	}
	if len(onejson.Rest(body, dec)) != 0 {
		return fmt.Errorf("the body holds more than one JSON value")
	}
	if name, ok := onejson.DuplicateKey(body); ok {
		return fmt.Errorf("the body names %q twice in one object (names are compared ignoring case)", name)
	}
	return nil
}

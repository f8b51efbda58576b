package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/core/classified"

	"github.com/countycloud/countycloud/core/errs"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// DecodeJSON reads one JSON object from r's body into dst, refusing
// classified content, unknown fields, trailing data and bodies over
// MaxBodyBytes.
func DecodeJSON(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	if err := classified.Check(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return errs.Invalid(errs.CodeInvalidJSON, "request body holds more than one JSON value")
	}
	return nil
}

// EncodeJSON returns a go-kit response encoder writing the response as JSON
// with the given status.
func EncodeJSON(status int) func(context.Context, http.ResponseWriter, any) error {
	return func(_ context.Context, w http.ResponseWriter, response any) error {
		writeJSON(w, status, response)
		return nil
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"the response could not be encoded"}}`)
	}
	WriteJSONBody(w, status, body)
}

// WriteJSONBody sends an encoded JSON body with its length, so that the
// response goes out in one piece rather than chunked.
func WriteJSONBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	// The status is already sent; a client gone away is all that can fail.
	_, _ = w.Write(append(body, '\n'))
}

// decodeError says what is wrong with a body in the caller's terms, never
// in the decoder's (which names Go types).
func decodeError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return errs.E(errs.KindTooLarge, errs.CodeBodyTooLarge, "request body is over %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return errs.Invalid(errs.CodeInvalidJSON, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid(errs.CodeInvalidJSON, "request body ends in the middle of a JSON value")
	case errors.As(err, &syntax):
		return errs.Invalid(errs.CodeInvalidJSON, "request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errs.Invalid(errs.CodeInvalidJSON, "request body must be a JSON object, not %s", typ.Value)
		}
		return errs.Invalid(errs.CodeInvalidJSON, "field %q must be %s, not %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errs.Invalid(errs.CodeInvalidJSON, "request body has an unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errs.Invalid(errs.CodeInvalidJSON, "request body is not valid JSON")
	}
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

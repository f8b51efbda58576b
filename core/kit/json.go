package kit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/countycloud/countycloud/core/errs"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// DecodeJSON reads one JSON object from r's body into dst, refusing
// unknown fields, trailing data and bodies over MaxBodyBytes.
func DecodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errs.E(errs.KindTooLarge, errs.CodeBodyTooLarge, "request body is over %d bytes", tooLarge.Limit)
		}
		if errors.Is(err, io.EOF) {
			return errs.Invalid(errs.CodeInvalidJSON, "request body is empty; send a JSON object")
		}
		return errs.Invalid(errs.CodeInvalidJSON, "request body is not valid JSON: %v", err)
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
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status is already sent; a client gone away is all that can fail.
	_ = json.NewEncoder(w).Encode(v)
}

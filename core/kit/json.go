package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/countycloud/countycloud/core/classified"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// DecodeJSON reads one JSON object from r's body into dst, as ReadJSON
// reads it, refusing an empty body and unknown fields.
func DecodeJSON(r *http.Request, dst any) error {
	body, err := ReadJSON(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return decodeError(io.EOF)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// ReadJSON reads r's body as JSON text the platform takes: sent as
// application/json (in UTF-8, if a charset is named), one JSON value and
// nothing after it, valid UTF-8 throughout, escapes included (the decoder
// would store anything else as U+FFFD), and nothing classified. A body
// over the route's limit is refused as too large; an empty body is
// returned empty, unchecked.
func ReadJSON(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	if len(body) == 0 {
		return body, nil
	}
	if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, errs.Invalid(errs.CodeInvalidJSON, "request body is not valid UTF-8")
	}
	if !json.Valid(body) {
		return nil, notOneValue(body)
	}
	if at, ok := loneSurrogate(body); ok {
		return nil, errs.Invalid(errs.CodeInvalidJSON, "request body escapes half a UTF-16 surrogate pair (at byte %d), which is not a character", at)
	}
	if err := classified.Check(body); err != nil {
		return nil, err
	}
	// After the guard, so that classified text under a repeated name is
	// refused and recorded as what it is.
	if name, ok := onejson.DuplicateKey(body); ok {
		return nil, errs.Invalid(errs.CodeInvalidJSON, "request body names %q twice in one object (names are compared ignoring case)", name)
	}
	return body, nil
}

// notOneValue says why body, which is not valid JSON, is not one JSON
// value: where its syntax breaks, or where it goes on after a value. Only
// then is the body decoded, which json.Valid checks without.
func notOneValue(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(new(json.RawMessage)); err != nil {
		return decodeError(err)
	}
	if rest := onejson.Rest(body, dec); len(rest) > 0 {
		return errs.Invalid(errs.CodeInvalidJSON, "request body goes on after its JSON value (at byte %d)", len(body)-len(rest))
	}
	return errs.Invalid(errs.CodeInvalidJSON, "request body is not valid JSON")
}

// checkJSONType refuses a body not sent as JSON: a form or plain text
// parsed as JSON would be a request its sender did not mean (and one a
// browser's form may send across sites).
func checkJSONType(contentType string) error {
	media, params, err := mime.ParseMediaType(contentType)
	if err == nil && media == "application/json" {
		charset, named := params["charset"]
		if len(params) == 0 || (len(params) == 1 && named && strings.EqualFold(charset, "utf-8")) {
			return nil
		}
	}
	if contentType == "" {
		return errs.E(errs.KindUnsupportedMediaType, errs.CodeUnsupportedMedia, "request body has no Content-Type; send JSON as Content-Type: application/json")
	}
	return errs.E(errs.KindUnsupportedMediaType, errs.CodeUnsupportedMedia, "request body is sent as %q; send JSON as Content-Type: application/json", contentType)
}

// loneSurrogate finds a \u escape of a UTF-16 surrogate that is not half
// of a pair, in valid JSON text.
func loneSurrogate(text []byte) (int, bool) {
	inString := false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			inString = !inString
		case inString && c == '\\':
			if text[i+1] != 'u' {
				i++
				continue
			}
			r := hex4(text[i+2 : i+6])
			switch {
			case r >= 0xd800 && r < 0xdc00:
				if i+12 > len(text) || text[i+6] != '\\' || text[i+7] != 'u' {
					return i, true
				}
				if low := hex4(text[i+8 : i+12]); low < 0xdc00 || low > 0xdfff {
					return i, true
				}
				i += 11
			case r >= 0xdc00 && r <= 0xdfff:
				return i, true
			default:
				i += 5
			}
		}
	}
	return 0, false
}

// hex4 reads the four hexadecimal digits of a \u escape.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
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

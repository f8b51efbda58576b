// Package errs is the platform's one error model: every error a caller may
// act on carries a Kind (which decides the HTTP status, once, in core/kit)
// and a stable Code (which clients and scripts match on).
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Kind is the class of an error. It decides the HTTP status and the CLI's
// exit code; the Code tells the precise reason.
type Kind int

const (
	// KindInternal is a fault of the platform; its message is never shown.
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindConflict
	KindUnauthenticated
	KindForbidden
	KindTooLarge
	KindMethodNotAllowed
	KindUnavailable
	KindTooManyRequests
	// KindUnsupportedMediaType is a body sent as a type the route does not
	// take.
	KindUnsupportedMediaType
	// KindBadGateway is an answer of something the platform called on the
	// caller's behalf (a module's plugin) that the platform refused to
	// pass on.
	KindBadGateway
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindTooLarge:
		return "too_large"
	case KindMethodNotAllowed:
		return "method_not_allowed"
	case KindUnavailable:
		return "unavailable"
	case KindTooManyRequests:
		return "too_many_requests"
	case KindUnsupportedMediaType:
		return "unsupported_media_type"
	case KindBadGateway:
		return "bad_gateway"
	default:
		return "internal"
	}
}

// Error is an error with a stable code and a message meant for the caller.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Details, if any, are sent with the error: the rows of a file that
	// are wrong, say.
	Details any
	// RetryAfter, if set, tells the caller when to try again.
	RetryAfter time.Duration
	// Err is the underlying cause, kept for logs and errors.Is; it is never
	// sent to the caller.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error around a cause.
func Wrap(err error, kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalid reports bad input.
func Invalid(code, format string, args ...any) *Error {
	return E(KindInvalid, code, format, args...)
}

// NotFound reports a missing resource.
func NotFound(code, format string, args ...any) *Error {
	return E(KindNotFound, code, format, args...)
}

// Conflict reports a request that contradicts the current state.
func Conflict(code, format string, args ...any) *Error {
	return E(KindConflict, code, format, args...)
}

// Unavailable reports a dependency that is down for now; retrying later
// may succeed.
func Unavailable(err error, code, format string, args ...any) *Error {
	return Wrap(err, KindUnavailable, code, format, args...)
}

// As returns the *Error in err's chain, or an internal error wrapping err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error", Err: err}
}

// CodeOf returns the stable code of err ("" for nil).
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	return As(err).Code
}

// Codes shared by every domain. Domain packages define their own beside
// their services.
const (
	CodeInternal         = "internal"
	CodeInvalidJSON      = "invalid_json"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalidUTF8      = "invalid_utf8"
	CodeUnauthenticated  = "unauthenticated"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeDBUnavailable    = "database_unavailable"
	CodeTenantNotFound   = "tenant_not_found"
	// CodeBillingSuspended refuses a write to a county whose writes are
	// held for billing (its account past due): reads go on.
	CodeBillingSuspended = "billing_suspended"
)

package host

import (
	"context"
	"encoding/json"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Callers says who made the request a capability was issued for, as the
// host authenticated them (false if it does not know). A plugin's audit
// entries are recorded against that caller: the plugin cannot name
// another.
type Callers interface {
	Caller(c Capability) (audit.Actor, bool)
}

// Widths of the audit trail's columns.
const (
	maxAction    = 64
	maxRequestID = 64
)

var (
	actionPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$`)
	objectTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	objectIDPattern   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

// trail appends a plugin's entries to the audit trail of the county of
// each call.
type trail struct {
	guard
	router  Router
	callers Callers
	now     func() time.Time
}

func (s *trail) Audit(ctx context.Context, req *pluginv1.AuditRequest) (*pluginv1.AuditResponse, error) {
	if s.callers == nil {
		return nil, status.Error(codes.Unavailable, "this host keeps no audit entries of plugins: it does not know their requests' callers")
	}
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	e, err := pluginEntry(s.plugin, c, s.callers, req, s.now().UTC())
	if err != nil {
		return nil, err
	}
	err = s.router.InTenant(ctx, c.County, func(ctx context.Context, conn *sqlx.Conn) error {
		return audit.Write(ctx, conn, e)
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pluginv1.AuditResponse{}, nil
}

// pluginEntry is plugin's entry req of the audit trail at at, checked,
// against the caller of c's request.
func pluginEntry(plugin string, c Capability, callers Callers, req *pluginv1.AuditRequest, at time.Time) (audit.Entry, error) {
	// The plugin's id comes first, so that a plugin writes only in its
	// own namespace and never an action of the platform's.
	action := plugin + "." + req.GetAction()
	switch {
	case !actionPattern.MatchString(req.GetAction()) || len(action) > maxAction:
		return audit.Entry{}, status.Errorf(codes.InvalidArgument, "action %q: use up to 4 dot-separated words of lowercase letters, digits or underscores, %d bytes with the plugin's id", req.GetAction(), maxAction)
	case !objectTypePattern.MatchString(req.GetObjectType()):
		return audit.Entry{}, status.Errorf(codes.InvalidArgument, "object type %q: use 1 to 32 lowercase letters, digits or underscores, starting with a letter", req.GetObjectType())
	case !objectIDPattern.MatchString(req.GetObjectId()):
		return audit.Entry{}, status.Errorf(codes.InvalidArgument, "object id %q: use 1 to 64 letters, digits, dots, colons, underscores or dashes", req.GetObjectId())
	}
	before, err := digest("before", req.GetBefore())
	if err != nil {
		return audit.Entry{}, err
	}
	after, err := digest("after", req.GetAfter())
	if err != nil {
		return audit.Entry{}, err
	}
	actor, ok := callers.Caller(c)
	if !ok {
		return audit.Entry{}, status.Error(codes.PermissionDenied, "the host knows no caller of this request to record the entry against")
	}
	e := audit.Entry{
		At:         at,
		ActorKind:  actor.Kind,
		ActorLogin: actor.Login,
		Action:     action,
		ObjectType: req.GetObjectType(),
		ObjectID:   req.GetObjectId(),
		// A digest of an absent object is no digest (core/audit's nil).
		BeforeDigest: before,
		AfterDigest:  after,
		Outcome:      audit.OK,
		RequestID:    clip(c.Request, maxRequestID),
		// What a plugin writes is told apart from what the platform does.
		Source: AuditSource(plugin),
	}
	if actor.ID != 0 {
		e.ActorID = &actor.ID
	}
	if actor.Unit != 0 {
		e.UnitID = &actor.Unit
	}
	return e, nil
}

// AuditSource is the source of the audit entries of what plugin drove
// (its own entries, the workflow actions it took for its caller), in
// place of the address of a request.
func AuditSource(plugin string) string { return "plugin:" + plugin }

// digest is the digest of the JSON document doc, nil if there is none:
// audit.Digest's of the value it holds, however the plugin spaced or
// ordered it (audit.DigestJSON).
func digest(what string, doc []byte) (*string, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	if len(doc) > MaxDocumentBytes {
		return nil, status.Errorf(codes.InvalidArgument, "%s is %d bytes; the limit is %d", what, len(doc), MaxDocumentBytes)
	}
	// One value and nothing after it, as onejson.Rest checks.
	if !json.Valid(doc) {
		return nil, status.Errorf(codes.InvalidArgument, "%s is not one JSON value", what)
	}
	// Numbers stay as written: a float64 would round large ids.
	return audit.DigestJSON(doc), nil
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

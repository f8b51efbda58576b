package host

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Outbox is the counties' notification outboxes, drained by jobs
// (core/notify's Service).
type Outbox interface {
	Kick(ctx context.Context, tenant string) error
}

// Limits of a plugin's notice.
const (
	maxNoticeAccounts  = 1000
	maxNoticeAudiences = 50
	maxNoticeSubject   = 200
	maxNoticeBody      = 2000
)

// moduleKinds are the kinds of notification a plugin may send: its own,
// and those of tasks, for a module whose work waits on people. An
// escalation (supervision's) and a test notice (an admin's) are the
// platform's to send.
var moduleKinds = []string{notify.KindModule, notify.KindTaskAssigned, notify.KindTaskWarning, notify.KindTaskOverdue}

var rolePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)

// notices writes a plugin's notifications into the outbox of the county
// of each call.
type notices struct {
	guard
	router Router
	outbox Outbox
	now    func() time.Time
}

func (s *notices) Notify(ctx context.Context, req *pluginv1.NotifyRequest) (*pluginv1.NotifyResponse, error) {
	c, err := s.account(req.GetCapability(), "notices")
	if err != nil {
		return nil, err
	}
	county := c.County
	msg, err := checkNotice(req)
	if err != nil {
		return nil, err
	}
	if err := s.smsReminder(c, req.GetSmsReminder()); err != nil {
		return nil, err
	}
	msg.SMS = req.GetSmsReminder()
	msgs := make([]notify.Message, 0, len(req.GetAccountIds())+len(req.GetAudiences()))
	for _, id := range req.GetAccountIds() {
		m := msg
		m.Account = id
		msgs = append(msgs, m)
	}
	for _, a := range req.GetAudiences() {
		m := msg
		m.Unit, m.Role = a.GetUnitId(), a.GetRole()
		msgs = append(msgs, m)
	}
	var pending int
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		var err error
		pending, err = notify.Write(ctx, tx, s.now(), msgs...)
		return err
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	if pending > 0 && s.outbox != nil {
		// The notices are committed whatever happens here: the sweep
		// finds what a failed kick leaves within a minute.
		if err := s.outbox.Kick(ctx, county); err != nil {
			s.log.WarnContext(ctx, "kicking the notification drain failed; the sweep will", "tenant", county, "plugin", s.plugin, "err", err)
		}
	}
	return &pluginv1.NotifyResponse{}, nil
}

// smsRemindersSetting is the top-level key of a module's settings by
// which a county allows the module's SMS reminders: the module's settings
// schema declares it as a boolean for a county to set.
const smsRemindersSetting = "sms_reminders"

// smsRemindersAllowed says whether settings, a county's settings of a
// module, allow its SMS reminders. Settings the host checked against the
// module's schema are a JSON object; anything else allows nothing.
func smsRemindersAllowed(settings []byte) bool {
	if len(settings) == 0 {
		return false
	}
	// Read at each request: walked, not decoded into a map.
	values, ok := objectFields(settings, []string{smsRemindersSetting})
	return ok && string(values[0]) == "true"
}

// checkNotice checks req's recipients and returns its message, cleaned,
// for no one yet.
func checkNotice(req *pluginv1.NotifyRequest) (notify.Message, error) {
	switch {
	case len(req.GetAccountIds()) == 0 && len(req.GetAudiences()) == 0:
		return notify.Message{}, status.Error(codes.InvalidArgument, "name accounts (account_ids) or role holders of units (audiences) to notify")
	case len(req.GetAccountIds()) > maxNoticeAccounts:
		return notify.Message{}, status.Errorf(codes.InvalidArgument, "%d accounts listed; at most %d (name their unit and role instead)", len(req.GetAccountIds()), maxNoticeAccounts)
	case len(req.GetAudiences()) > maxNoticeAudiences:
		return notify.Message{}, status.Errorf(codes.InvalidArgument, "%d audiences listed; at most %d", len(req.GetAudiences()), maxNoticeAudiences)
	}
	for _, id := range req.GetAccountIds() {
		if id <= 0 {
			return notify.Message{}, status.Errorf(codes.InvalidArgument, "account id %d is not positive", id)
		}
	}
	for _, a := range req.GetAudiences() {
		if a.GetUnitId() <= 0 || !rolePattern.MatchString(a.GetRole()) {
			return notify.Message{}, status.Errorf(codes.InvalidArgument, "audience (unit %d, role %q) is not a unit id and a role code", a.GetUnitId(), a.GetRole())
		}
	}
	kind := req.GetKind()
	if kind == "" {
		kind = notify.KindModule
	}
	if !slices.Contains(moduleKinds, kind) {
		return notify.Message{}, status.Errorf(codes.InvalidArgument, "kind %q is not one a module sends: %s", kind, strings.Join(moduleKinds, ", "))
	}
	subject, err := names.Clean("subject", req.GetSubject(), maxNoticeSubject)
	if err != nil {
		return notify.Message{}, status.Error(codes.InvalidArgument, err.Error())
	}
	body := strings.TrimSpace(strings.ReplaceAll(req.GetBody(), "\r\n", "\n"))
	switch {
	case !utf8.ValidString(body):
		return notify.Message{}, status.Error(codes.InvalidArgument, "body is not valid UTF-8")
	case utf8.RuneCountInString(body) > maxNoticeBody:
		return notify.Message{}, status.Errorf(codes.InvalidArgument, "body is %d characters long; at most %d", utf8.RuneCountInString(body), maxNoticeBody)
	case strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		return notify.Message{}, status.Error(codes.InvalidArgument, "body holds a control character")
	}
	return notify.Message{Kind: kind, Subject: subject, Body: body}, nil
}

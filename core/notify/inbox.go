package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
)

// Codes of the errors this package returns.
const (
	CodeNoInbox              = "no_inbox"
	CodeNotificationNotFound = "notification_not_found"
	CodeInvalidList          = "invalid_notification_list"
	CodeInvalidPreferences   = "invalid_notification_preferences"
	CodeInvalidGateway       = "invalid_sms_gateway"
	CodeNotFailed            = "notification_not_failed"
	CodeInvalidTest          = "invalid_test_notice"
	CodeUnitNotFound         = "unit_not_found"
)

// Notification is one message in an account's inbox.
type Notification struct {
	ID        int64      `json:"id" db:"id"`
	Kind      string     `json:"kind" db:"kind"`
	Subject   string     `json:"subject" db:"subject"`
	Body      string     `json:"body" db:"body"`
	RefType   *string    `json:"ref_type,omitempty" db:"ref_type"`
	RefID     *int64     `json:"ref_id,omitempty" db:"ref_id"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty" db:"read_at"`
}

const inboxColumns = "id, kind, subject, body, ref_type, ref_id, created_at, read_at"

// InboxFilter pages through an inbox, newest first, Limit at a time,
// below the id Before; Unread keeps to what is not read yet.
type InboxFilter struct {
	Unread bool
	Before int64
	Limit  int
}

// InboxPage is a page of an inbox, with how many of all its messages are
// unread; Next is the Before of the next page, 0 on the last.
type InboxPage struct {
	Notifications []Notification `json:"notifications"`
	Unread        int            `json:"unread"`
	Next          int64          `json:"next,omitempty"`
}

// MaxLimit bounds a page of notifications.
const MaxLimit = 500

func checkLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return 50, nil
	case limit < 0 || limit > MaxLimit:
		return 0, errs.Invalid(CodeInvalidList, "limit %d is not between 1 and %d", limit, MaxLimit)
	}
	return limit, nil
}

// Inbox lists account's in-app notifications in tenant.
func (s *Service) Inbox(ctx context.Context, tenant string, account int64, f InboxFilter) (InboxPage, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return InboxPage{}, err
	}
	if f.Before < 0 {
		return InboxPage{}, errs.Invalid(CodeInvalidList, "before must not be negative")
	}
	query := "SELECT " + inboxColumns + " FROM notifications WHERE account_id = ? AND channel = ?"
	args := []any{account, ChannelInApp}
	if f.Unread {
		query += " AND read_at IS NULL"
	}
	if f.Before > 0 {
		query += " AND id < ?"
		args = append(args, f.Before)
	}
	query += " ORDER BY id DESC LIMIT " + strconv.Itoa(limit+1)
	page := InboxPage{Notifications: []Notification{}}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := conn.SelectContext(ctx, &page.Notifications, query, args...); err != nil {
			return fmt.Errorf("list inbox: %w", err)
		}
		err := conn.GetContext(ctx, &page.Unread, "SELECT COUNT(*) FROM notifications WHERE account_id = ? AND channel = ? AND read_at IS NULL", account, ChannelInApp)
		return wrap(err, "count unread notifications")
	})
	if err != nil {
		return InboxPage{}, err
	}
	if len(page.Notifications) > limit {
		page.Notifications = page.Notifications[:limit]
		page.Next = page.Notifications[limit-1].ID
	}
	return page, nil
}

// MarkRead marks account's notification id read; marking it again
// changes nothing. Another account's notification is not found. Reading
// is not audited: it changes nothing of the county's, and read_at keeps
// when it happened.
func (s *Service) MarkRead(ctx context.Context, tenant string, account, id int64) (Notification, error) {
	var n Notification
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &n, "SELECT "+inboxColumns+" FROM notifications WHERE id = ? AND account_id = ? AND channel = ? FOR UPDATE", id, account, ChannelInApp)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound(CodeNotificationNotFound, "you have no notification %d", id)
		}
		if err != nil {
			return fmt.Errorf("read notification %d: %w", id, err)
		}
		if n.ReadAt != nil {
			return nil
		}
		now := s.now()
		n.ReadAt = &now
		_, err = tx.ExecContext(ctx, "UPDATE notifications SET read_at = ? WHERE id = ?", now, id)
		return wrap(err, "mark notification %d read", id)
	})
	return n, err
}

// Preference is an account's choice, for one kind of notification, of
// the channels besides the inbox.
type Preference struct {
	Kind  string `json:"kind" db:"kind"`
	Email bool   `json:"email" db:"email"`
	SMS   bool   `json:"sms" db:"sms"`
}

// Preferences are an account's choices for every kind, in Kinds' order.
type Preferences struct {
	Preferences []Preference `json:"preferences"`
}

// PreferenceInput sets one kind; both channels must be said.
type PreferenceInput struct {
	Kind  string `json:"kind"`
	Email *bool  `json:"email"`
	SMS   *bool  `json:"sms"`
}

// PreferencesInput sets the kinds it lists; the others keep theirs.
type PreferencesInput struct {
	Preferences []PreferenceInput `json:"preferences"`
}

func (s *Service) preferences(ctx context.Context, q sqlx.QueryerContext, account int64) (Preferences, error) {
	var set []Preference
	if err := sqlx.SelectContext(ctx, q, &set, "SELECT kind, email, sms FROM notification_preferences WHERE account_id = ?", account); err != nil {
		return Preferences{}, fmt.Errorf("read notification preferences: %w", err)
	}
	byKind := map[string]Preference{}
	for _, p := range set {
		byKind[p.Kind] = p
	}
	var all Preferences
	for _, kind := range Kinds() {
		p, ok := byKind[kind]
		if !ok {
			p = Preference{Kind: kind, Email: defaultEmail, SMS: defaultSMS}
		}
		all.Preferences = append(all.Preferences, p)
	}
	return all, nil
}

// Preferences returns account's choices for every kind.
func (s *Service) Preferences(ctx context.Context, tenant string, account int64) (Preferences, error) {
	var p Preferences
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		p, err = s.preferences(ctx, conn, account)
		return err
	})
	return p, err
}

// SetPreferences sets account's choices for the kinds in listed, all or
// none of them.
func (s *Service) SetPreferences(ctx context.Context, tenant string, account int64, in PreferencesInput) (Preferences, error) {
	if len(in.Preferences) == 0 {
		return Preferences{}, errs.Invalid(CodeInvalidPreferences, `list the kinds to set: {"preferences": [{"kind": "%s", "email": true, "sms": false}]}`, KindTaskAssigned)
	}
	seen := map[string]bool{}
	for _, p := range in.Preferences {
		switch {
		case !validKind(p.Kind):
			return Preferences{}, errs.Invalid(CodeInvalidPreferences, "kind %q is not one of %s", p.Kind, strings.Join(Kinds(), ", "))
		case seen[p.Kind]:
			return Preferences{}, errs.Invalid(CodeInvalidPreferences, "kind %s is listed twice", p.Kind)
		case p.Email == nil || p.SMS == nil:
			return Preferences{}, errs.Invalid(CodeInvalidPreferences, "say both channels for kind %s: \"email\" and \"sms\", true or false", p.Kind)
		}
		seen[p.Kind] = true
	}
	var after Preferences
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		before, err := s.preferences(ctx, tx, account)
		if err != nil {
			return err
		}
		now := s.now()
		for _, p := range in.Preferences {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notification_preferences (account_id, kind, email, sms, updated_at) VALUES (?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE email = VALUES(email), sms = VALUES(sms), updated_at = VALUES(updated_at)`, account, p.Kind, *p.Email, *p.SMS, now); err != nil {
				return fmt.Errorf("set notification preference %s: %w", p.Kind, err)
			}
		}
		if err := DirectoryChanged(ctx, tx); err != nil {
			return err
		}
		if after, err = s.preferences(ctx, tx, account); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "notifications.preferences.set", "account", strconv.FormatInt(account, 10), before, after))
	})
	return after, err
}

// Package notify tells people what needs them: a task assigned, a
// deadline near or passed, an escalation. Every notification is written
// in the transaction of what caused it, into the county's outbox: an
// in-app row (the account's inbox) and, as the account's preferences ask,
// e-mail and SMS rows that jobs deliver later, retrying a channel that is
// down, so nothing committed is lost.
package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
)

// Kinds of notification; an account's preferences are per kind.
const (
	KindTaskAssigned = "task_assigned"
	KindTaskWarning  = "task_warning"
	KindTaskOverdue  = "task_overdue"
	KindEscalation   = "escalation"
	KindTest         = "test"
	// KindModule is what a county's modules (plugins) send of their own:
	// a new training video for a unit, say. It is a kind of its own so
	// that an account can turn their e-mail off without missing tasks.
	KindModule = "module"
)

// Kinds lists every kind, in the order preferences show them.
func Kinds() []string {
	return []string{KindTaskAssigned, KindTaskWarning, KindTaskOverdue, KindEscalation, KindTest, KindModule}
}

// Channels.
const (
	ChannelInApp = "inapp"
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Statuses of a notification: pending until a channel takes it, sent,
// or failed when its attempts ran out.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Message is one notification to one account, or, with Account 0, to
// every active holder of Role in Unit (a task waiting for a unit's clerks).
type Message struct {
	Account int64
	Unit    int64
	Role    string
	Kind    string
	Subject string
	Body    string
	// RefType and RefID name what the message is about (a task).
	RefType string
	RefID   int64
	// SMS sends it by SMS whatever the account's preferences: the "SMS
	// reminder" (短信提醒) option of an action.
	SMS bool
}

// recipient is what Write needs of an account.
type recipient struct {
	ID     int64   `db:"id"`
	Email  *string `db:"email"`
	Mobile *string `db:"mobile"`
	// UnitID is the account's unit, which its notices delivered count in.
	UnitID int64 `db:"unit_id"`
}

// preference is an account's choice for one kind.
type preference struct {
	Account int64  `db:"account_id"`
	Kind    string `db:"kind"`
	Email   bool   `db:"email"`
	SMS     bool   `db:"sms"`
}

// CodeInvalidKind is the error of a kind of notification that does not
// exist.
const CodeInvalidKind = "invalid_notification_kind"

// validKind says whether kind is one of Kinds.
func validKind(kind string) bool { return slices.Contains(Kinds(), kind) }

// Chunks keep each statement well below MySQL's 65,535 placeholders
// however many accounts a message goes to (a test notice to a whole
// county): an inserted row takes 12.
const (
	readChunk   = 1000
	insertChunk = 500
)

// Write adds msgs to the outbox of the county tx is on: an in-app row
// for each, and an e-mail or SMS row where the account has the address
// and its preferences (or the message's SMS reminder) ask for it. Inactive
// accounts get nothing. It returns how many rows wait for delivery, so
// that the caller knows whether to kick the drain after committing.
func Write(ctx context.Context, tx sqlx.ExtContext, now time.Time, msgs ...Message) (pending int, err error) {
	return writeFor(ctx, tx, now, msgs, func(who addressees) (*directory, error) { return readDirectory(ctx, tx, who) })
}

// writeFor writes msgs to the accounts that lookup finds for them.
func writeFor(ctx context.Context, tx sqlx.ExecerContext, now time.Time, msgs []Message, lookup func(addressees) (*directory, error)) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	who, err := audienceOf(msgs)
	if err != nil {
		return 0, err
	}
	dir, err := lookup(who)
	if err != nil {
		return 0, err
	}
	return write(ctx, tx, now, dir, msgs)
}

// audience is the holders of a role in a unit.
type audience struct {
	unit int64
	role string
}

// addressees is whom a set of messages names: accounts, audiences, and
// the kinds whose preferences count.
type addressees struct {
	accounts  []int64
	audiences []audience
	kinds     []any
}

func audienceOf(msgs []Message) (addressees, error) {
	var who addressees
	for _, m := range msgs {
		if !validKind(m.Kind) {
			return addressees{}, errs.Invalid(CodeInvalidKind, "notification kind %q is not one of %s", m.Kind, strings.Join(Kinds(), ", "))
		}
		if m.Account != 0 {
			who.accounts = append(who.accounts, m.Account)
		} else if !slices.Contains(who.audiences, audience{m.Unit, m.Role}) {
			who.audiences = append(who.audiences, audience{m.Unit, m.Role})
		}
		if !slices.Contains(who.kinds, any(m.Kind)) {
			who.kinds = append(who.kinds, m.Kind)
		}
	}
	slices.Sort(who.accounts)
	who.accounts = slices.Compact(who.accounts)
	return who, nil
}

// directory is what the county's directory says of some addressees: the
// active accounts with their addresses, their preferences for the kinds,
// and the audiences' members. Once read it is not changed, so that it can
// be shared.
type directory struct {
	byID    map[int64]recipient
	chosen  map[preferenceKey]preference
	members map[audience][]int64
}

type preferenceKey struct {
	account int64
	kind    string
}

// readDirectory reads who's addressees: one read per chunk for the
// addresses and the preferences, the first also finding the audiences'
// members; each account comes once per preference it has (or once with
// none), and once per audience.
func readDirectory(ctx context.Context, q sqlx.QueryerContext, who addressees) (*directory, error) {
	dir := &directory{byID: make(map[int64]recipient, len(who.accounts)), chosen: map[preferenceKey]preference{}, members: map[audience][]int64{}}
	// Only the preferences for the messages' kinds: each is one look-up of
	// the preferences' primary key, where all of an account's would be a
	// scan.
	preferences := "LEFT JOIN notification_preferences p ON p.account_id = a.id AND p.kind IN (?" + strings.Repeat(", ?", len(who.kinds)-1) + ")"
	named := `SELECT a.id, a.email, a.mobile, a.unit_id, p.kind, p.email AS pref_email, p.sms AS pref_sms, 0 AS unit, '' AS role
FROM accounts a ` + preferences + ` WHERE a.status = 'active' AND a.id IN (?)`
	holders := `SELECT a.id, a.email, a.mobile, a.unit_id, p.kind, p.email AS pref_email, p.sms AS pref_sms, a.unit_id AS unit, ro.code AS role FROM accounts a
JOIN account_roles ar ON ar.account_id = a.id JOIN roles ro ON ro.id = ar.role_id
` + preferences + ` WHERE a.status = 'active' AND a.unit_id = ? AND ro.code = ?`
	chunks := slices.Collect(slices.Chunk(who.accounts, readChunk))
	if len(chunks) == 0 {
		chunks = [][]int64{nil}
	}
	for i, chunk := range chunks {
		var parts []string
		var args []any
		if len(chunk) > 0 {
			query, in, err := sqlx.In(named, append(slices.Clone(who.kinds), chunk)...)
			if err != nil {
				return nil, err
			}
			parts, args = append(parts, query), in
		}
		if i == 0 && len(who.audiences) > 0 {
			// A select per audience, each along the unit's index, where
			// one with ORs would scan the role's holders county-wide.
			for _, a := range who.audiences {
				parts = append(parts, holders)
				args = append(append(args, who.kinds...), a.unit, a.role)
			}
		}
		if len(parts) == 0 {
			break
		}
		var found []struct {
			recipient
			Kind      *string `db:"kind"`
			PrefEmail *bool   `db:"pref_email"`
			PrefSMS   *bool   `db:"pref_sms"`
			Unit      int64   `db:"unit"`
			Role      string  `db:"role"`
		}
		if err := sqlx.SelectContext(ctx, q, &found, strings.Join(parts, "\nUNION ALL\n"), args...); err != nil {
			return nil, fmt.Errorf("read recipients: %w", err)
		}
		for _, f := range found {
			dir.byID[f.ID] = f.recipient
			if f.Kind != nil {
				dir.chosen[preferenceKey{f.ID, *f.Kind}] = preference{Account: f.ID, Kind: *f.Kind, Email: *f.PrefEmail, SMS: *f.PrefSMS}
			}
			if a := (audience{f.Unit, f.Role}); f.Role != "" && !slices.Contains(dir.members[a], f.ID) {
				dir.members[a] = append(dir.members[a], f.ID)
			}
		}
	}
	return dir, nil
}

// write writes msgs to the accounts dir found for them.
func write(ctx context.Context, tx sqlx.ExecerContext, now time.Time, dir *directory, msgs []Message) (pending int, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	var each []Message
	for _, m := range msgs {
		if m.Account != 0 {
			each = append(each, m)
			continue
		}
		for _, id := range dir.members[audience{m.Unit, m.Role}] {
			m.Account = id
			each = append(each, m)
		}
	}
	var rows [][]any
	add := func(m Message, channel, status string, address *string) {
		var refType *string
		var refID *int64
		if m.RefType != "" {
			refType, refID = &m.RefType, &m.RefID
		}
		var sentAt, nextAttempt *time.Time
		if status == StatusSent {
			sentAt = &now
		} else {
			nextAttempt = &now
		}
		rows = append(rows, []any{m.Account, channel, m.Kind, clip(m.Subject, 200), clip(m.Body, 2000), refType, refID, address, status, nextAttempt, sentAt, now})
	}
	var inbox []measure.Count
	for _, m := range each {
		person, ok := dir.byID[m.Account]
		if !ok {
			continue
		}
		add(m, ChannelInApp, StatusSent, nil)
		inbox = append(inbox, measure.Count{Measure: measure.NoticesInbox, Unit: person.UnitID})
		pref, ok := dir.chosen[preferenceKey{m.Account, m.Kind}]
		if !ok {
			pref = preference{Email: defaultEmail, SMS: defaultSMS}
		}
		if pref.Email && person.Email != nil && *person.Email != "" {
			add(m, ChannelEmail, StatusPending, person.Email)
			pending++
		}
		if (pref.SMS || m.SMS) && person.Mobile != nil && *person.Mobile != "" {
			add(m, ChannelSMS, StatusPending, person.Mobile)
			pending++
		}
	}
	for chunk := range slices.Chunk(rows, insertChunk) {
		values := strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", len(chunk))[2:]
		args := make([]any, 0, 12*len(chunk))
		for _, r := range chunk {
			args = append(args, r...)
		}
		// Nothing reads them back before the commit: they go with the
		// transaction's deferred writes.
		err = store.Later(ctx, tx, `INSERT INTO notifications (account_id, channel, kind, subject, body, ref_type, ref_id, address, status, next_attempt_at, sent_at, created_at)
VALUES `+values, args...)
		if err != nil {
			return 0, fmt.Errorf("write notifications: %w", err)
		}
	}
	// An inbox notice is delivered as it is written: counted with it.
	if err := measure.Add(ctx, tx, now, inbox...); err != nil {
		return 0, err
	}
	return pending, nil
}

// An account's choice for a kind it has not set: e-mail on (it costs
// nothing), SMS off (it costs the county money).
const (
	defaultEmail = true
	defaultSMS   = false
)

// clip cuts s to at most n runes, as the columns hold.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

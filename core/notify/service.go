package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/egress"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
)

// Jobs of this package. A drain delivers one county's due e-mail and
// SMS; the sweep, scheduled every SweepEvery, kicks a drain for every
// county that has due messages nobody is draining.
const (
	JobDrain   = "notify.drain"
	JobSweep   = "notify.sweep"
	SweepEvery = time.Minute
)

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// Queue takes the drains (jobs.Queue).
type Queue interface {
	Enqueue(ctx context.Context, spec jobs.Spec) (jobs.Job, bool, error)
}

// Counties lists the counties whose outboxes the sweep looks at: every
// county that is ready.
type Counties interface {
	Counties(ctx context.Context) ([]string, error)
}

// Options tune delivery; zero fields take the defaults.
type Options struct {
	// MaxAttempts is how many times a message is tried before it is
	// failed (default 20: with the default backoff, about 13 hours, so
	// that a gateway down overnight delays messages and fails none).
	MaxAttempts int
	// Backoff is the wait after a message's attempt-th failed attempt
	// (default 30 s doubling, at most an hour).
	Backoff func(attempt int) time.Duration
	// Batch is how many messages a drain takes at a time (default 20).
	Batch int
	// Hold is how long a drain holds the messages it took before
	// another drain may take them (default 10 min): long enough to send
	// a batch, short enough that a crashed replica's messages are not
	// delayed much.
	Hold time.Duration
	// SendTimeout bounds sending one message (default 30 s).
	SendTimeout time.Duration
	// Coalesce is the window within which kicks share one drain
	// (default 2 s); see Kick.
	Coalesce time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Outbound is where counties' SMS gateways may be: public
	// addresses and the networks the operator allowed.
	Outbound egress.Policy
	// Client posts to counties' SMS gateways (default: timeouts, no
	// redirects, only the addresses Outbound allows).
	Client *http.Client
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Hold <= 0 {
		o.Hold = 10 * time.Minute
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Coalesce <= 0 {
		o.Coalesce = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = gatewayClient(o.Outbound)
	}
	return o
}

// DefaultBackoff waits 30 s after a message's first failure, doubling up
// to an hour.
func DefaultBackoff(attempt int) time.Duration {
	return min(30*time.Second<<min(max(attempt-1, 0), 10), time.Hour)
}

// Service delivers the counties' notifications and serves their inboxes,
// preferences and outboxes.
type Service struct {
	router   Router
	queue    Queue
	counties Counties
	mail     Sender
	opts     Options
	log      *slog.Logger
}

// New returns the notification service. mail is the SMTP channel, nil if
// the platform has no mail server: e-mail then fails at once with
// "no SMTP server configured" (visible in the outbox, retried by an
// admin once one is), rather than piling up for a server that may never
// come.
func New(router Router, queue Queue, counties Counties, mail Sender, opts Options, log *slog.Logger) *Service {
	return &Service{router: router, queue: queue, counties: counties, mail: mail, opts: opts.withDefaults(), log: log}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

type drainPayload struct {
	Tenant string `json:"tenant"`
}

// Kick asks for tenant's outbox to be drained; callers of Write kick
// after committing. Kicks within one Coalesce window share one drain job,
// due at the window's end: its idempotency key names the window, and
// since the job starts only after its window, a message committed while
// a drain runs kicks the next window's job instead of the running one,
// which may have looked already. (Replicas whose clocks disagree can
// still coalesce into a running drain; the sweep catches that within a
// minute.) An error loses nothing: the message waits in the outbox for
// the sweep.
func (s *Service) Kick(ctx context.Context, tenant string) error {
	return s.schedule(ctx, tenant, s.now())
}

// schedule enqueues a drain of tenant for at's window.
func (s *Service) schedule(ctx context.Context, tenant string, at time.Time) error {
	window := at.UTC().Truncate(s.opts.Coalesce)
	_, _, err := s.queue.Enqueue(ctx, jobs.Spec{
		Kind:    JobDrain,
		Tenant:  tenant,
		Payload: drainPayload{Tenant: tenant},
		Key:     fmt.Sprintf("%s:%s:%d", JobDrain, tenant, window.UnixMilli()),
		RunAt:   window.Add(s.opts.Coalesce),
	})
	if err != nil {
		return fmt.Errorf("kick the drain of %s: %w", tenant, err)
	}
	return nil
}

// DrainReport counts what one drain did.
type DrainReport struct {
	Sent     int `json:"sent"`
	Retrying int `json:"retrying"`
	Failed   int `json:"failed"`
	// Deferred were not tried: their channel had just failed.
	Deferred int `json:"deferred"`
}

// outgoing is a message a drain took.
type outgoing struct {
	ID       int64   `db:"id"`
	Channel  string  `db:"channel"`
	Subject  string  `db:"subject"`
	Body     string  `db:"body"`
	Address  *string `db:"address"`
	Attempts int     `db:"attempts"`
}

// Drain delivers tenant's e-mail and SMS that were due when it started,
// a batch at a time, oldest first, and records each outcome: sent, or
// failed and due again after a backoff, or failed for good once its
// attempts are spent. A channel that is down costs one attempt per
// drain: its other messages are deferred to the same retry, untried. If
// messages wait for later, a drain is scheduled for the earliest.
//
// Delivery is at least once: a drain that dies between sending a message
// and recording it leaves the message pending, and it is sent again once
// the hold on it runs out. The e-mail's Message-ID and the SMS's id stay
// the same across attempts, so receivers can drop the copy.
func (s *Service) Drain(ctx context.Context, tenant string) (DrainReport, error) {
	var report DrainReport
	senders, err := s.senders(ctx, tenant)
	if err != nil {
		return report, err
	}
	start := s.now()
	down := map[string]bool{}
	for {
		batch, err := s.take(ctx, tenant, start, down)
		if err != nil {
			return report, err
		}
		if len(batch) == 0 {
			break
		}
		for i, m := range batch {
			if ctx.Err() != nil {
				s.release(ctx, tenant, batch[i:])
				return report, ctx.Err()
			}
			if down[m.Channel] {
				// Deferred with the rest of its channel already.
				continue
			}
			if err := s.deliver(ctx, tenant, senders[m.Channel], m, batch[i+1:], down, &report); err != nil {
				s.release(ctx, tenant, batch[i:])
				return report, err
			}
		}
	}
	next, err := s.earliest(ctx, tenant)
	if err != nil || next == nil {
		return report, err
	}
	return report, s.schedule(ctx, tenant, *next)
}

// senders are tenant's channels: the platform's mail server and the
// county's SMS gateway.
func (s *Service) senders(ctx context.Context, tenant string) (map[string]Sender, error) {
	senders := map[string]Sender{ChannelEmail: unconfigured("no SMTP server configured"), ChannelSMS: unconfigured("the county has no SMS gateway configured")}
	if s.mail != nil {
		senders[ChannelEmail] = s.mail
	}
	gw, err := s.gatewayConfig(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if gw != nil {
		senders[ChannelSMS] = SMSGateway{Config: *gw, Client: s.opts.Client}
	}
	return senders, nil
}

// unconfigured is a channel the platform or the county has not set up:
// its messages fail at once, saying so. They stay in the outbox, and an
// admin retries them once the channel is set up.
type unconfigured string

func (u unconfigured) Send(context.Context, Outgoing) (string, error) {
	return "", Permanent(errors.New(string(u)))
}

// take claims the next batch of messages due by start, over channels
// not down, by pushing their next attempt past the hold: another drain
// skips them, and if this one dies they are due again when it runs out.
func (s *Service) take(ctx context.Context, tenant string, start time.Time, down map[string]bool) ([]outgoing, error) {
	channels := []string{}
	for _, c := range []string{ChannelEmail, ChannelSMS} {
		if !down[c] {
			channels = append(channels, c)
		}
	}
	if len(channels) == 0 {
		return nil, nil
	}
	var batch []outgoing
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		query, args, err := sqlx.In(`SELECT id, channel, subject, body, address, attempts FROM notifications
WHERE status = ? AND next_attempt_at <= ? AND channel IN (?) ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
			StatusPending, start, channels, s.opts.Batch)
		if err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &batch, query, args...); err != nil {
			return fmt.Errorf("take due notifications: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		query, args, err = sqlx.In("UPDATE notifications SET next_attempt_at = ? WHERE id IN (?)", s.now().Add(s.opts.Hold), ids(batch))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("hold due notifications: %w", err)
		}
		return nil
	})
	return batch, err
}

func ids(batch []outgoing) []int64 {
	list := make([]int64, len(batch))
	for i, m := range batch {
		list[i] = m.ID
	}
	return list
}

// deliver sends m and records the outcome. If its channel turns out to
// be down, it defers the channel's other due messages (rest holds the
// batch's untried ones) to m's retry.
func (s *Service) deliver(ctx context.Context, tenant string, sender Sender, m outgoing, rest []outgoing, down map[string]bool, report *DrainReport) error {
	out := Outgoing{Tenant: tenant, ID: m.ID, Subject: m.Subject, Body: m.Body}
	if m.Address != nil {
		out.To = *m.Address
	}
	sendCtx, cancel := context.WithTimeout(ctx, s.opts.SendTimeout)
	ref, sendErr := sender.Send(sendCtx, out)
	cancel()
	if sendErr != nil && ctx.Err() != nil {
		// Shutdown cut the send short: not the message's fault.
		return ctx.Err()
	}
	// What was sent is recorded even if shutdown has begun meanwhile.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.now()
	attempts := m.Attempts + 1
	if sendErr == nil {
		report.Sent++
		// Marked sent once, from pending, and counted delivered in the
		// same transaction: a delivery recorded twice counts once.
		return s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE notifications SET status = ?, attempts = ?, sent_at = ?, provider_ref = ?, next_attempt_at = NULL, last_error = NULL
WHERE id = ? AND status = ?`, StatusSent, attempts, now, nullable(ref), m.ID, StatusPending)
			if err != nil {
				return wrap(err, "record notification %d as sent", m.ID)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return wrap(err, "record notification %d as sent", m.ID)
			}
			var unit int64
			if err := tx.GetContext(ctx, &unit, "SELECT a.unit_id FROM notifications n JOIN accounts a ON a.id = n.account_id WHERE n.id = ?", m.ID); err != nil {
				return wrap(err, "find the unit of notification %d", m.ID)
			}
			return measure.Add(ctx, tx, now, measure.Count{Measure: deliveredMeasure(m.Channel), Unit: unit})
		})
	}
	return s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		reason := excerpt(sendErr)
		if isPermanent(sendErr) || attempts >= s.opts.MaxAttempts {
			report.Failed++
			_, err := conn.ExecContext(ctx, `UPDATE notifications SET status = ?, attempts = ?, last_error = ?, next_attempt_at = NULL
WHERE id = ? AND status = ?`, StatusFailed, attempts, reason, m.ID, StatusPending)
			return wrap(err, "record notification %d as failed", m.ID)
		}
		report.Retrying++
		retry := now.Add(s.opts.Backoff(attempts))
		if _, err := conn.ExecContext(ctx, "UPDATE notifications SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ? AND status = ?",
			attempts, reason, retry, m.ID, StatusPending); err != nil {
			return wrap(err, "record notification %d for retry", m.ID)
		}
		if !isDown(sendErr) {
			return nil
		}
		down[m.Channel] = true
		n, err := s.deferChannel(ctx, conn, m.Channel, now, retry, "not tried: the channel failed just before: "+reason, rest)
		report.Deferred += n
		if err == nil {
			s.log.WarnContext(ctx, "notification channel down; its messages wait", "tenant", tenant, "channel", m.Channel, "deferred", n, "retry", retry, "err", reason)
		}
		return err
	})
}

// deliveredMeasure is the measure of channel's notices delivered.
func deliveredMeasure(channel string) string {
	if channel == ChannelSMS {
		return measure.NoticesSMS
	}
	return measure.NoticesEmail
}

// maxLastError is how much of a failure last_error keeps, in runes.
const maxLastError = 200

// excerpt is what last_error keeps of a failed send: a short excerpt,
// cleaned of control characters. A failure can quote what the other end
// answered, and county admins read last_error; a long quote would make
// the gateway a way to read whatever answers at its URL.
func excerpt(err error) string {
	return clip(printable(err.Error(), 4*maxLastError), maxLastError)
}

// deferChannel moves channel's due messages, and those of rest this
// drain holds, to retry, untried.
func (s *Service) deferChannel(ctx context.Context, conn *sqlx.Conn, channel string, now, retry time.Time, reason string, rest []outgoing) (int, error) {
	query := "UPDATE notifications SET next_attempt_at = ?, last_error = ? WHERE status = ? AND channel = ? AND (next_attempt_at <= ?"
	args := []any{retry, clip(reason, 500), StatusPending, channel, now}
	for _, r := range rest {
		if r.Channel == channel {
			query += " OR id = ?"
			args = append(args, r.ID)
		}
	}
	res, err := conn.ExecContext(ctx, query+")", args...)
	if err != nil {
		return 0, fmt.Errorf("defer the %s notifications: %w", channel, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// release hands back messages a stopped drain took but did not send, so
// that the next drain need not wait out the hold.
func (s *Service) release(ctx context.Context, tenant string, batch []outgoing) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		query, args, err := sqlx.In("UPDATE notifications SET next_attempt_at = ? WHERE status = ? AND id IN (?)", s.now(), StatusPending, ids(batch))
		if err != nil {
			return err
		}
		_, err = conn.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "releasing notifications failed; they are due again when the hold runs out", "tenant", tenant, "err", err)
	}
}

// earliest is when tenant's next pending message is due, nil if none is
// pending.
func (s *Service) earliest(ctx context.Context, tenant string) (*time.Time, error) {
	var next sql.NullTime
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.GetContext(ctx, &next, "SELECT MIN(next_attempt_at) FROM notifications WHERE status = ?", StatusPending)
	})
	if err != nil {
		return nil, fmt.Errorf("next pending notification: %w", err)
	}
	if !next.Valid {
		return nil, nil
	}
	return &next.Time, nil
}

// DrainJob is JobDrain's handler.
func (s *Service) DrainJob(ctx context.Context, j jobs.Job) error {
	var p drainPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Tenant == "" {
		return jobs.Permanent(fmt.Errorf("drain payload %s names no county", j.Payload))
	}
	report, err := s.Drain(ctx, p.Tenant)
	if err != nil {
		switch errs.As(err).Kind {
		case errs.KindNotFound, errs.KindInvalid, errs.KindConflict:
			// The county is gone or not being served (suspended): its
			// messages wait, and the sweep kicks a drain once it is back.
			return jobs.Permanent(err)
		}
		return err
	}
	if report != (DrainReport{}) {
		s.log.InfoContext(ctx, "notifications drained", "tenant", p.Tenant, "sent", report.Sent, "retrying", report.Retrying, "failed", report.Failed, "deferred", report.Deferred)
	}
	return nil
}

// Sweep kicks a drain for every county with messages due: the safety
// net under Kick, for a kick that failed or coalesced into a drain that
// had already looked, and for counties that were suspended. It goes on
// past a county it cannot read and returns how many it kicked.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	codes, err := s.counties.Counties(ctx)
	if err != nil {
		return 0, fmt.Errorf("list counties: %w", err)
	}
	now := s.now()
	kicked := 0
	for _, code := range codes {
		var due []int64
		err := s.router.InTenant(ctx, code, func(ctx context.Context, conn *sqlx.Conn) error {
			return conn.SelectContext(ctx, &due, "SELECT id FROM notifications WHERE status = ? AND next_attempt_at <= ? LIMIT 1", StatusPending, now)
		})
		if err == nil && len(due) > 0 {
			if err = s.Kick(ctx, code); err == nil {
				kicked++
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return kicked, ctx.Err()
			}
			s.log.WarnContext(ctx, "sweeping a county's outbox failed; the next sweep tries again", "tenant", code, "err", err)
		}
	}
	return kicked, nil
}

// SweepJob is JobSweep's handler.
func (s *Service) SweepJob(ctx context.Context, _ jobs.Job) error {
	n, err := s.Sweep(ctx)
	if n > 0 {
		s.log.InfoContext(ctx, "notification sweep kicked drains", "counties", n)
	}
	return err
}

package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/egress"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
)

// GatewayView is a county's SMS gateway as its admins see it: never the
// token, only whether one is set.
type GatewayView struct {
	Configured bool       `json:"configured"`
	URL        string     `json:"url,omitempty"`
	Sign       string     `json:"sign,omitempty"`
	TokenSet   bool       `json:"token_set"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

// GatewayInput sets a county's SMS gateway.
type GatewayInput struct {
	URL string `json:"url"`
	// Token is sent as "Authorization: Bearer <token>"; left out, the
	// token set stays (so the URL can change without handing the token
	// round again); "" removes it.
	Token *string `json:"token"`
	// Sign is the SMS signature (签名) the provider registered, without
	// brackets; left out, the one set stays.
	Sign *string `json:"sign"`
}

type gatewayRow struct {
	URL       string    `db:"url"`
	Token     string    `db:"token"`
	Sign      string    `db:"sign"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (g *gatewayRow) view() GatewayView {
	if g == nil {
		return GatewayView{}
	}
	updated := g.UpdatedAt
	return GatewayView{Configured: true, URL: g.URL, Sign: g.Sign, TokenSet: g.Token != "", UpdatedAt: &updated}
}

func readGateway(ctx context.Context, q sqlx.QueryerContext, lock bool) (*gatewayRow, error) {
	query := "SELECT url, token, sign, updated_at FROM sms_gateway WHERE id = 1"
	if lock {
		query += " FOR UPDATE"
	}
	var g gatewayRow
	err := sqlx.GetContext(ctx, q, &g, query)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read SMS gateway: %w", err)
	}
	return &g, nil
}

// gatewayConfig is tenant's SMS gateway, nil if it has none.
func (s *Service) gatewayConfig(ctx context.Context, tenant string) (*GatewayConfig, error) {
	var g *gatewayRow
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		g, err = readGateway(ctx, conn, false)
		return err
	})
	if err != nil || g == nil {
		return nil, err
	}
	return &GatewayConfig{URL: g.URL, Token: g.Token, Sign: g.Sign}, nil
}

// Gateway shows tenant's SMS gateway.
func (s *Service) Gateway(ctx context.Context, tenant string) (GatewayView, error) {
	var g *gatewayRow
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		g, err = readGateway(ctx, conn, false)
		return err
	})
	return g.view(), err
}

// SetGateway sets tenant's SMS gateway.
func (s *Service) SetGateway(ctx context.Context, tenant string, in GatewayInput) (GatewayView, error) {
	if err := checkGatewayURL(in.URL, s.opts.Outbound); err != nil {
		return GatewayView{}, err
	}
	if in.Token != nil && (len(*in.Token) > 500 || strings.IndexFunc(*in.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0) {
		return GatewayView{}, errs.Invalid(CodeInvalidGateway, "the token must be at most 500 printable ASCII characters without spaces")
	}
	if in.Sign != nil && *in.Sign != "" {
		sign, err := names.Clean("sign", *in.Sign, 32)
		if err != nil {
			return GatewayView{}, errs.Invalid(CodeInvalidGateway, "%v", err)
		}
		in.Sign = &sign
	}
	var after *gatewayRow
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		before, err := readGateway(ctx, tx, true)
		if err != nil {
			return err
		}
		after = &gatewayRow{URL: in.URL, UpdatedAt: s.now()}
		if before != nil {
			after.Token, after.Sign = before.Token, before.Sign
		}
		if in.Token != nil {
			after.Token = *in.Token
		}
		if in.Sign != nil {
			after.Sign = *in.Sign
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sms_gateway (id, url, token, sign, updated_at) VALUES (1, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE url = VALUES(url), token = VALUES(token), sign = VALUES(sign), updated_at = VALUES(updated_at)`,
			after.URL, after.Token, after.Sign, after.UpdatedAt); err != nil {
			return fmt.Errorf("set SMS gateway: %w", err)
		}
		// The trail gets digests of the views: a digest of the token
		// would be a hash anyone could test guesses against.
		var was any
		if before != nil {
			was = before.view()
		}
		return audit.Write(ctx, tx, audit.New(ctx, "notifications.sms_gateway.set", "sms_gateway", "1", was, after.view()))
	})
	if err != nil {
		return GatewayView{}, err
	}
	return after.view(), nil
}

// checkGatewayURL refuses a URL that cannot name a gateway, or that names
// an address the outbound policy refuses. A host name is checked when
// it is dialled, on what it then resolves to.
func checkGatewayURL(raw string, outbound egress.Policy) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errs.Invalid(CodeInvalidGateway, "the gateway's url is required, such as https://sms.example.gov.cn/send")
	case len(raw) > 500:
		return errs.Invalid(CodeInvalidGateway, "the url is %d bytes; at most 500", len(raw))
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Hostname() == "":
		return errs.Invalid(CodeInvalidGateway, "url %q is not an http:// or https:// URL with a host", raw)
	case u.User != nil:
		return errs.Invalid(CodeInvalidGateway, "put the gateway's credentials in token, not in the url")
	case u.Fragment != "" || strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return errs.Invalid(CodeInvalidGateway, "url %q holds a fragment, spaces or control characters", raw)
	}
	if err := outbound.CheckHost(u.Hostname()); err != nil {
		return errs.Invalid(CodeInvalidGateway, "url %q: %v", raw, err)
	}
	return nil
}

// Delivery is an e-mail or SMS in a county's outbox and how its delivery
// went.
type Delivery struct {
	ID            int64      `json:"id" db:"id"`
	AccountID     int64      `json:"account_id" db:"account_id"`
	Login         string     `json:"login" db:"login"`
	Channel       string     `json:"channel" db:"channel"`
	Kind          string     `json:"kind" db:"kind"`
	Subject       string     `json:"subject" db:"subject"`
	Address       string     `json:"address" db:"address"`
	Status        string     `json:"status" db:"status"`
	Attempts      int        `json:"attempts" db:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" db:"next_attempt_at"`
	LastError     *string    `json:"last_error,omitempty" db:"last_error"`
	ProviderRef   *string    `json:"provider_ref,omitempty" db:"provider_ref"`
	CreatedAt     time.Time  `json:"created_at" db:"created_at"`
	SentAt        *time.Time `json:"sent_at,omitempty" db:"sent_at"`
}

const deliveryQuery = `SELECT n.id, n.account_id, a.login, n.channel, n.kind, n.subject, COALESCE(n.address, '') AS address, n.status, n.attempts,
n.next_attempt_at, n.last_error, n.provider_ref, n.created_at, n.sent_at FROM notifications n JOIN accounts a ON a.id = n.account_id`

// OutboxFilter selects deliveries, newest first, Limit at a time, below
// the id Before; empty fields match all.
type OutboxFilter struct {
	Status  string
	Channel string
	Before  int64
	Limit   int
}

// OutboxPage is a page of the outbox; Next is the Before of the next
// page, 0 on the last.
type OutboxPage struct {
	Deliveries []Delivery `json:"deliveries"`
	Next       int64      `json:"next,omitempty"`
}

// Outbox lists tenant's e-mail and SMS with their delivery status.
func (s *Service) Outbox(ctx context.Context, tenant string, f OutboxFilter) (OutboxPage, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return OutboxPage{}, err
	}
	query := deliveryQuery + " WHERE n.channel IN (?, ?)"
	args := []any{ChannelEmail, ChannelSMS}
	switch f.Status {
	case "":
	case StatusPending, StatusSent, StatusFailed:
		query += " AND n.status = ?"
		args = append(args, f.Status)
	default:
		return OutboxPage{}, errs.Invalid(CodeInvalidList, "status %q is not pending, sent or failed", f.Status)
	}
	switch f.Channel {
	case "":
	case ChannelEmail, ChannelSMS:
		query += " AND n.channel = ?"
		args = append(args, f.Channel)
	default:
		return OutboxPage{}, errs.Invalid(CodeInvalidList, "channel %q is not email or sms", f.Channel)
	}
	if f.Before < 0 {
		return OutboxPage{}, errs.Invalid(CodeInvalidList, "before must not be negative")
	}
	if f.Before > 0 {
		query += " AND n.id < ?"
		args = append(args, f.Before)
	}
	query += " ORDER BY n.id DESC LIMIT " + strconv.Itoa(limit+1)
	page := OutboxPage{Deliveries: []Delivery{}}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return wrap(conn.SelectContext(ctx, &page.Deliveries, query, args...), "list outbox")
	})
	if err != nil {
		return OutboxPage{}, err
	}
	if len(page.Deliveries) > limit {
		page.Deliveries = page.Deliveries[:limit]
		page.Next = page.Deliveries[limit-1].ID
	}
	return page, nil
}

// Retry puts tenant's failed delivery id back in the outbox with its
// attempts renewed, to the account's current address if it has one (the
// number that failed may have been corrected since), and kicks a drain.
func (s *Service) Retry(ctx context.Context, tenant string, id int64) (Delivery, error) {
	var d Delivery
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		var before Delivery
		err := tx.GetContext(ctx, &before, deliveryQuery+" WHERE n.id = ? AND n.channel IN (?, ?) FOR UPDATE", id, ChannelEmail, ChannelSMS)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound(CodeNotificationNotFound, "the outbox holds no e-mail or SMS %d", id)
		}
		if err != nil {
			return fmt.Errorf("read notification %d: %w", id, err)
		}
		if before.Status != StatusFailed {
			return errs.Conflict(CodeNotFailed, "notification %d is %s; only a failed one is retried", id, before.Status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notifications n JOIN accounts a ON a.id = n.account_id
SET n.status = ?, n.attempts = 0, n.next_attempt_at = ?,
    n.address = COALESCE(NULLIF(CASE n.channel WHEN ? THEN a.email ELSE a.mobile END, ''), n.address)
WHERE n.id = ?`, StatusPending, s.now(), ChannelEmail, id); err != nil {
			return fmt.Errorf("retry notification %d: %w", id, err)
		}
		if err := tx.GetContext(ctx, &d, deliveryQuery+" WHERE n.id = ?", id); err != nil {
			return fmt.Errorf("read notification %d: %w", id, err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "notifications.outbox.retry", "notification", strconv.FormatInt(id, 10), before, d))
	})
	if err != nil {
		return Delivery{}, err
	}
	s.kickAfterCommit(ctx, tenant)
	return d, nil
}

// kickAfterCommit kicks tenant's drain for what a request just
// committed. The request has succeeded whatever happens here: if the
// kick fails, the sweep finds the messages within a minute.
func (s *Service) kickAfterCommit(ctx context.Context, tenant string) {
	if err := s.Kick(ctx, tenant); err != nil {
		s.log.WarnContext(ctx, "kicking the notification drain failed; the sweep will", "tenant", tenant, "err", err)
	}
}

// TestNotice asks for a test notification (KindTest) to every active
// account of a unit and the units below it, or to the accounts listed:
// in the system-testing phase the IT office sends one to every unit, and
// with SMS the "SMS reminder" reaches every account holder whatever
// their preferences.
type TestNotice struct {
	UnitID     int64   `json:"unit_id"`
	AccountIDs []int64 `json:"account_ids"`
	Subject    string  `json:"subject"`
	Body       string  `json:"body"`
	SMS        bool    `json:"sms"`
}

// Recipient names an account.
type Recipient struct {
	ID    int64  `json:"id" db:"id"`
	Login string `json:"login" db:"login"`
	Name  string `json:"name" db:"name"`
}

// TestResult says whom a test notice reached.
type TestResult struct {
	// Accounts is how many active accounts got it in their inbox.
	Accounts int `json:"accounts"`
	// Deliveries is how many e-mails and SMS wait to be sent.
	Deliveries int `json:"deliveries"`
	// WithoutMobile, when SMS was asked for, are the accounts no SMS
	// reaches: the organisation has no mobile number for them.
	WithoutMobile []Recipient `json:"without_mobile,omitempty"`
}

// MaxTestAccounts bounds the accounts a test notice lists.
const MaxTestAccounts = 1000

func checkTestNotice(in *TestNotice) error {
	switch {
	case (in.UnitID != 0) == (len(in.AccountIDs) != 0):
		return errs.Invalid(CodeInvalidTest, "name a unit (unit_id) or accounts (account_ids), not both")
	case in.UnitID < 0:
		return errs.Invalid(CodeInvalidTest, "unit_id must be positive")
	case len(in.AccountIDs) > MaxTestAccounts:
		return errs.Invalid(CodeInvalidTest, "%d accounts listed; at most %d (name their unit instead)", len(in.AccountIDs), MaxTestAccounts)
	}
	for _, id := range in.AccountIDs {
		if id <= 0 {
			return errs.Invalid(CodeInvalidTest, "account id %d is not positive", id)
		}
	}
	subject, err := names.Clean("subject", in.Subject, 200)
	if err != nil {
		return errs.Invalid(CodeInvalidTest, "%v", err)
	}
	in.Subject = subject
	body := strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	switch {
	case !utf8.ValidString(body):
		return errs.Invalid(CodeInvalidTest, "body is not valid UTF-8")
	case utf8.RuneCountInString(body) > 2000:
		return errs.Invalid(CodeInvalidTest, "body is %d characters long; at most 2000", utf8.RuneCountInString(body))
	case strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		return errs.Invalid(CodeInvalidTest, "body holds a control character")
	}
	in.Body = body
	return nil
}

type testRecipient struct {
	Recipient
	Mobile *string `db:"mobile"`
}

// SendTest sends a test notice and kicks the drain.
func (s *Service) SendTest(ctx context.Context, tenant string, in TestNotice) (TestResult, error) {
	if err := checkTestNotice(&in); err != nil {
		return TestResult{}, err
	}
	var res TestResult
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		people, object, err := testRecipients(ctx, tx, in)
		if err != nil {
			return err
		}
		msgs := make([]Message, len(people))
		for i, p := range people {
			msgs[i] = Message{Account: p.ID, Kind: KindTest, Subject: in.Subject, Body: in.Body, SMS: in.SMS}
			if in.SMS && (p.Mobile == nil || *p.Mobile == "") {
				res.WithoutMobile = append(res.WithoutMobile, p.Recipient)
			}
		}
		res.Accounts = len(people)
		if res.Deliveries, err = Write(ctx, tx, s.now(), msgs...); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "notifications.test", "test_notice", object, nil, in))
	})
	if err != nil {
		return TestResult{}, err
	}
	if res.Deliveries > 0 {
		s.kickAfterCommit(ctx, tenant)
	}
	return res, nil
}

// testRecipients are the active accounts a test notice goes to, and the
// audit object naming them.
func testRecipients(ctx context.Context, tx *sqlx.Tx, in TestNotice) ([]testRecipient, string, error) {
	const columns = "SELECT id, login, name, mobile FROM accounts WHERE status = 'active' AND "
	var people []testRecipient
	if len(in.AccountIDs) > 0 {
		ids := slices.Compact(slices.Sorted(slices.Values(in.AccountIDs)))
		query, args, err := sqlx.In("SELECT id FROM accounts WHERE id IN (?)", ids)
		if err != nil {
			return nil, "", err
		}
		var known []int64
		if err := tx.SelectContext(ctx, &known, query, args...); err != nil {
			return nil, "", fmt.Errorf("read accounts: %w", err)
		}
		if unknown := slices.DeleteFunc(ids, func(id int64) bool { return slices.Contains(known, id) }); len(unknown) > 0 {
			return nil, "", errs.Invalid(CodeInvalidTest, "the county has no account %v", unknown)
		}
		query, args, err = sqlx.In(columns+"id IN (?) ORDER BY id", known)
		if err != nil {
			return nil, "", err
		}
		err = tx.SelectContext(ctx, &people, query, args...)
		return people, fmt.Sprintf("accounts:%d", len(known)), wrap(err, "read accounts")
	}
	var units []struct {
		ID     int64         `db:"id"`
		Parent sql.NullInt64 `db:"parent_id"`
	}
	if err := tx.SelectContext(ctx, &units, "SELECT id, parent_id FROM units"); err != nil {
		return nil, "", fmt.Errorf("read units: %w", err)
	}
	children := map[int64][]int64{}
	found := false
	for _, u := range units {
		children[u.Parent.Int64] = append(children[u.Parent.Int64], u.ID)
		found = found || u.ID == in.UnitID
	}
	if !found {
		return nil, "", errs.NotFound(CodeUnitNotFound, "the county has no unit %d", in.UnitID)
	}
	// The unit tree has no cycles (the organisation refuses them), so
	// this walk ends.
	subtree := []int64{in.UnitID}
	for i := 0; i < len(subtree); i++ {
		subtree = append(subtree, children[subtree[i]]...)
	}
	query, args, err := sqlx.In(columns+"unit_id IN (?) ORDER BY id", subtree)
	if err != nil {
		return nil, "", err
	}
	err = tx.SelectContext(ctx, &people, query, args...)
	return people, "unit:" + strconv.FormatInt(in.UnitID, 10), wrap(err, "read accounts")
}

package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Codes of the errors about accounts.
const (
	CodeInvalidAccount  = "invalid_billing_account"
	CodeAccountNotFound = "billing_account_not_found"
	CodeAccountExists   = "billing_account_exists"
	CodeNotPayable      = "billing_account_cannot_pay"
	CodeNoPayer         = "billing_no_payer"
)

// Kinds of account: the office of a province, paying for its counties,
// or of a county paying for itself.
const (
	KindProvince = "province"
	KindCounty   = "county"
)

// Tax-exempt statuses, as Stripe names them.
var taxExemptions = []string{"none", "exempt", "reverse"}

// Defaults of a new account: governments pay invoices within 30 days.
const (
	DefaultNetTermsDays = 30
	MaxNetTermsDays     = 365
	DefaultTaxExempt    = "none"
)

// Account is an office that pays: one Stripe customer, invoiced
// (collection_method send_invoice, due NetTermsDays after issue).
type Account struct {
	Code         string    `json:"code" db:"code"`
	Kind         string    `json:"kind" db:"kind"`
	Name         string    `json:"name" db:"name"`
	Email        string    `json:"email,omitempty" db:"email"`
	NetTermsDays int       `json:"net_terms_days" db:"net_terms_days"`
	TaxExempt    string    `json:"tax_exempt" db:"tax_exempt"`
	Revision     int       `json:"revision" db:"revision"`
	Customer     *string   `json:"stripe_customer,omitempty" db:"stripe_customer_id"`
	CreatedAt    time.Time `json:"created_at" db:"created_at"`
	UpdatedAt    time.Time `json:"updated_at" db:"updated_at"`
	// Counties are the counties it pays for.
	Counties []string `json:"counties" db:"-"`
}

const accountColumns = "code, kind, name, email, net_terms_days, tax_exempt, revision, stripe_customer_id, created_at, updated_at"

// AccountInput opens an account for Code, a province or a county of the
// registry; nil fields take the defaults.
type AccountInput struct {
	Code         string  `json:"code"`
	Name         string  `json:"name"`
	Email        string  `json:"email,omitempty"`
	NetTermsDays *int    `json:"net_terms_days,omitempty"`
	TaxExempt    *string `json:"tax_exempt,omitempty"`
}

// AccountPatch changes an account; nil fields stay.
type AccountPatch struct {
	Name         *string `json:"name,omitempty"`
	Email        *string `json:"email,omitempty"`
	NetTermsDays *int    `json:"net_terms_days,omitempty"`
	TaxExempt    *string `json:"tax_exempt,omitempty"`
}

func (p AccountPatch) apply(a *Account) error {
	if p.Name != nil {
		a.Name = strings.TrimSpace(*p.Name)
	}
	if p.Email != nil {
		a.Email = strings.TrimSpace(*p.Email)
	}
	if p.NetTermsDays != nil {
		a.NetTermsDays = *p.NetTermsDays
	}
	if p.TaxExempt != nil {
		a.TaxExempt = *p.TaxExempt
	}
	switch {
	case a.Name == "" || len([]rune(a.Name)) > 64:
		return errs.Invalid(CodeInvalidAccount, "账户名称须为 1 至 64 字 / an account's name is 1 to 64 characters")
	case a.Email != "" && !validEmail(a.Email):
		return errs.Invalid(CodeInvalidAccount, "%q 不是电子邮件地址 / %q is not an e-mail address", a.Email, a.Email)
	case a.NetTermsDays < 0 || a.NetTermsDays > MaxNetTermsDays:
		return errs.Invalid(CodeInvalidAccount, "付款期限须为 0 至 %d 天 / net terms are 0 to %d days", MaxNetTermsDays, MaxNetTermsDays)
	case !slices.Contains(taxExemptions, a.TaxExempt):
		return errs.Invalid(CodeInvalidAccount, "免税状态 %q 须为 none、exempt 或 reverse / tax_exempt %q is none, exempt or reverse", a.TaxExempt, a.TaxExempt)
	}
	return nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// CreateAccount opens in.Code's account and asks Stripe for its customer.
func (s *Service) CreateAccount(ctx context.Context, in AccountInput) (Account, error) {
	kind, err := s.payerKind(ctx, in.Code)
	if err != nil {
		return Account{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	a := Account{Code: in.Code, Kind: kind, NetTermsDays: DefaultNetTermsDays, TaxExempt: DefaultTaxExempt, Revision: 1, CreatedAt: now, UpdatedAt: now, Counties: []string{}}
	if err := (AccountPatch{Name: &in.Name, Email: &in.Email, NetTermsDays: in.NetTermsDays, TaxExempt: in.TaxExempt}).apply(&a); err != nil {
		return Account{}, err
	}
	var row int64
	err = store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO billing_accounts ("+accountColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
			a.Code, a.Kind, a.Name, a.Email, a.NetTermsDays, a.TaxExempt, a.Revision, a.CreatedAt, a.UpdatedAt)
		if store.IsDuplicate(err) {
			return errs.Conflict(CodeAccountExists, "%s 已有计费账户 / %s has a billing account", a.Code, a.Code)
		}
		if err != nil {
			return fmt.Errorf("create billing account %s: %w", a.Code, err)
		}
		row, err = s.write(ctx, tx, customerCall(opCreateCustomer, a))
		return err
	})
	if err != nil {
		return Account{}, err
	}
	s.queue(ctx, []int64{row})
	return a, nil
}

// payerKind checks that code may hold an account: a province or a county.
func (s *Service) payerKind(ctx context.Context, code string) (string, error) {
	if code == "" || len(code) > 128 {
		return "", errs.Invalid(CodeInvalidAccount, "须指明省或县的代码 / name a province's or a county's code")
	}
	level, err := s.directory.Level(ctx, code)
	if e := errs.As(err); e != nil && e.Kind == errs.KindNotFound {
		return "", errs.NotFound(CodeNotPayable, "%s 不是平台上的省或县 / %s is no province or county of the platform", code, code)
	}
	if err != nil {
		return "", err
	}
	if level != KindProvince && level != KindCounty {
		return "", errs.Invalid(CodeNotPayable, "%s 是%s，只有省或县可开计费账户 / %s is a %s; only a province or a county holds a billing account", code, level, code, level)
	}
	return level, nil
}

// UpdateAccount changes code's account and Stripe's customer with it.
func (s *Service) UpdateAccount(ctx context.Context, code string, p AccountPatch) (Account, error) {
	var a Account
	var row int64
	err := store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		var err error
		if a, err = s.lockAccount(ctx, tx, code); err != nil {
			return err
		}
		if err := p.apply(&a); err != nil {
			return err
		}
		row, err = s.touch(ctx, tx, &a)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	s.queue(ctx, []int64{row})
	return a, nil
}

// touch records a's change as a new revision and writes Stripe's update
// of its customer (names, terms, the counties it pays for).
func (s *Service) touch(ctx context.Context, tx *sqlx.Tx, a *Account) (int64, error) {
	a.Revision++
	a.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, "UPDATE billing_accounts SET name = ?, email = ?, net_terms_days = ?, tax_exempt = ?, revision = ?, updated_at = ? WHERE code = ?",
		a.Name, a.Email, a.NetTermsDays, a.TaxExempt, a.Revision, a.UpdatedAt, a.Code); err != nil {
		return 0, fmt.Errorf("update billing account %s: %w", a.Code, err)
	}
	if err := s.readCounties(ctx, tx, a); err != nil {
		return 0, err
	}
	return s.write(ctx, tx, customerCall(opUpdateCustomer, *a))
}

func (s *Service) lockAccount(ctx context.Context, tx *sqlx.Tx, code string) (Account, error) {
	var a Account
	err := tx.GetContext(ctx, &a, "SELECT "+accountColumns+" FROM billing_accounts WHERE code = ? FOR UPDATE", code)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.NotFound(CodeAccountNotFound, "%s 没有计费账户 / %s has no billing account", code, code)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read billing account %s: %w", code, err)
	}
	return a, s.readCounties(ctx, tx, &a)
}

func (s *Service) readCounties(ctx context.Context, q sqlx.QueryerContext, a *Account) error {
	a.Counties = []string{}
	if err := sqlx.SelectContext(ctx, q, &a.Counties, "SELECT county_code FROM billing_payers WHERE account_code = ? ORDER BY county_code", a.Code); err != nil {
		return fmt.Errorf("read the counties %s pays for: %w", a.Code, err)
	}
	return nil
}

// customerCall is the call that makes or updates a's customer, keyed by
// the account's revision: the same change recorded twice is one call.
func customerCall(op string, a Account) call {
	return call{stream: "customer:" + a.Code, op: op, subject: a.Code,
		key:  "cc/customer/" + a.Code + "/r" + strconv.Itoa(a.Revision),
		body: customerPayload{Account: a.Code, Customer: Customer{Name: a.Name, Email: a.Email, TaxExempt: a.TaxExempt, Metadata: customerMetadata(a)}}}
}

// Stripe keeps at most 50 metadata keys of up to 500 characters; the
// counties an account pays for are spread over counties_1, counties_2…
// and the keys a shorter list no longer uses are sent empty, which
// deletes them.
const (
	metadataValueMax = 500
	countyKeys       = 40
)

func customerMetadata(a Account) map[string]string {
	m := map[string]string{
		"countycloud_account": a.Code,
		"countycloud_kind":    a.Kind,
		"collection_method":   "send_invoice",
		"net_terms_days":      strconv.Itoa(a.NetTermsDays),
		"county_count":        strconv.Itoa(len(a.Counties)),
	}
	chunks := countyChunks(a.Counties)
	for i := 1; i <= countyKeys; i++ {
		m["counties_"+strconv.Itoa(i)] = ""
		if i <= len(chunks) {
			m["counties_"+strconv.Itoa(i)] = chunks[i-1]
		}
	}
	return m
}

// countyChunks joins counties with commas into values of at most
// metadataValueMax characters.
func countyChunks(counties []string) []string {
	var chunks []string
	chunk := ""
	for _, c := range counties {
		if chunk != "" && len(chunk)+1+len(c) > metadataValueMax {
			chunks = append(chunks, chunk)
			chunk = ""
		}
		if chunk != "" {
			chunk += ","
		}
		chunk += c
	}
	if chunk != "" {
		chunks = append(chunks, chunk)
	}
	return chunks
}

// Assign makes account pay for county: the county's own account, or its
// province's. The account it moves from and the one it moves to both
// tell Stripe, and the county's subscription moves with it (move.go).
func (s *Service) Assign(ctx context.Context, county, account string) (CountyBilling, error) {
	level, err := s.directory.Level(ctx, county)
	if e := errs.As(err); (e != nil && e.Kind == errs.KindNotFound) || (err == nil && level != KindCounty) {
		return CountyBilling{}, errs.NotFound(CodeNotPayable, "%s 不是平台上的县 / %s is no county of the platform", county, county)
	}
	if err != nil {
		return CountyBilling{}, err
	}
	province, _, _ := strings.Cut(county, ".")
	if account != county && account != province {
		return CountyBilling{}, errs.Invalid(CodeNotPayable, "%s 只能由本县或本省（%s）的账户付费 / %s is paid for by its own account or its province's (%s)", county, province, county, province)
	}
	var rows []int64
	var out CountyBilling
	err = store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		to, err := s.lockAccount(ctx, tx, account)
		if err != nil {
			return err
		}
		var from string
		err = tx.GetContext(ctx, &from, "SELECT account_code FROM billing_payers WHERE county_code = ? FOR UPDATE", county)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read who pays for %s: %w", county, err)
		}
		if from == account {
			out = countyBilling(county, to)
			return nil
		}
		if len(countyChunks(append(slices.Clone(to.Counties), county))) > countyKeys {
			return errs.Conflict(CodeNotPayable, "账户 %s 已为 %d 个县付费，Stripe 客户的元数据已满 / account %s pays for %d counties, all its Stripe customer's metadata holds", account, len(to.Counties), account, len(to.Counties))
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO billing_payers (county_code, account_code, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE account_code = VALUES(account_code), updated_at = VALUES(updated_at)",
			county, account, s.now().UTC()); err != nil {
			return fmt.Errorf("record who pays for %s: %w", county, err)
		}
		moved, err := s.moveSubscription(ctx, tx, county, account)
		if err != nil {
			return err
		}
		rows = append(rows, moved...)
		// Accounts are locked in code order whatever the direction of the
		// move, so two moves cannot deadlock each other.
		codes := []string{account}
		if from != "" {
			codes = append(codes, from)
		}
		slices.Sort(codes)
		for _, code := range codes {
			a := to
			if code != account {
				if a, err = s.lockAccount(ctx, tx, code); err != nil {
					return err
				}
			}
			row, err := s.touch(ctx, tx, &a)
			if err != nil {
				return err
			}
			rows = append(rows, row)
			if code == account {
				out = countyBilling(county, a)
			}
		}
		return nil
	})
	if err != nil {
		return CountyBilling{}, err
	}
	s.queue(ctx, rows)
	return out, nil
}

// CountyBilling is how a county is billed: the account that pays for it.
type CountyBilling struct {
	County       string `json:"county"`
	Account      string `json:"account"`
	AccountKind  string `json:"account_kind"`
	AccountName  string `json:"account_name"`
	NetTermsDays int    `json:"net_terms_days"`
	TaxExempt    string `json:"tax_exempt"`
	// CustomerReady says the account's Stripe customer exists.
	CustomerReady bool `json:"customer_ready"`
}

func countyBilling(county string, a Account) CountyBilling {
	return CountyBilling{County: county, Account: a.Code, AccountKind: a.Kind, AccountName: a.Name, NetTermsDays: a.NetTermsDays, TaxExempt: a.TaxExempt, CustomerReady: a.Customer != nil}
}

// County returns how county is billed.
func (s *Service) County(ctx context.Context, county string) (CountyBilling, error) {
	var code string
	err := s.db.GetContext(ctx, &code, "SELECT account_code FROM billing_payers WHERE county_code = ?", county)
	if errors.Is(err, sql.ErrNoRows) {
		return CountyBilling{}, errs.NotFound(CodeNoPayer, "尚未指定为 %s 付费的账户 / no account pays for %s yet", county, county)
	}
	if err != nil {
		return CountyBilling{}, fmt.Errorf("read who pays for %s: %w", county, err)
	}
	a, err := s.Account(ctx, code)
	if err != nil {
		return CountyBilling{}, err
	}
	return countyBilling(county, a), nil
}

// Account returns code's account with the counties it pays for.
func (s *Service) Account(ctx context.Context, code string) (Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, "SELECT "+accountColumns+" FROM billing_accounts WHERE code = ?", code)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.NotFound(CodeAccountNotFound, "%s 没有计费账户 / %s has no billing account", code, code)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read billing account %s: %w", code, err)
	}
	return a, s.readCounties(ctx, s.db, &a)
}

// Accounts lists every account, by code, with the counties each pays for.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	accounts := []Account{}
	if err := s.db.SelectContext(ctx, &accounts, "SELECT "+accountColumns+" FROM billing_accounts ORDER BY code"); err != nil {
		return nil, fmt.Errorf("list billing accounts: %w", err)
	}
	var payers []struct {
		County  string `db:"county_code"`
		Account string `db:"account_code"`
	}
	if err := s.db.SelectContext(ctx, &payers, "SELECT county_code, account_code FROM billing_payers ORDER BY county_code"); err != nil {
		return nil, fmt.Errorf("list billing accounts: %w", err)
	}
	for i := range accounts {
		accounts[i].Counties = []string{}
		for _, p := range payers {
			if p.Account == accounts[i].Code {
				accounts[i].Counties = append(accounts[i].Counties, p.County)
			}
		}
	}
	return accounts, nil
}

package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/store"
)

// IssuedCredential is one line of the credential sheet handed out in the
// preparation phase: shown this once, never stored in clear.
type IssuedCredential struct {
	AccountID int64  `json:"account_id" db:"id"`
	Login     string `json:"login" db:"login"`
	Name      string `json:"name" db:"name"`
	UnitID    int64  `json:"unit_id,omitempty" db:"unit_id"`
	Unit      string `json:"unit" db:"unit"`
	Password  string `json:"password" db:"-"`
}

// IssueRequest selects whose first passwords are issued.
type IssueRequest struct {
	// UnitID limits the issue to one unit's accounts; 0 is the county.
	UnitID int64 `json:"unit_id"`
}

// ReissueRequest names whose passwords are replaced: the accounts of
// Logins, or every active account of the unit UnitID; one of the two.
type ReissueRequest struct {
	Logins []string `json:"logins,omitempty"`
	UnitID int64    `json:"unit_id,omitempty"`
}

// MaxReissueLogins bounds the accounts one reissue names; a whole unit is
// named by its id.
const MaxReissueLogins = 1000

// Codes of the credential sheet and its reissue.
const (
	// CodeAccountNotFound is the code of an account a reset names that the
	// county does not have.
	CodeAccountNotFound = "account_not_found"
	// CodeCredentialsIssued answers a second credential sheet: every
	// account asked for has its password already, and a sheet shows a
	// password once.
	CodeCredentialsIssued = "credentials_issued_already"
	// CodeNoActiveAccounts answers a sheet for a county or unit without
	// active accounts.
	CodeNoActiveAccounts = "no_active_accounts"
	// CodeInvalidReissue refuses a reissue that names neither accounts nor
	// a unit, or both.
	CodeInvalidReissue = "invalid_reissue"
)

// issueQuery selects the accounts of a credential sheet.
const issueQuery = `SELECT a.id, a.login, a.name, a.unit_id, u.name AS unit FROM accounts a JOIN units u ON u.id = a.unit_id
	LEFT JOIN credentials c ON c.account_id = a.id WHERE a.status = 'active'`

// IssueCredentials gives active accounts of tenant without a password
// random ones that must be changed at first login, all in one
// transaction, and returns them for the credential sheet. A sheet shows a
// password once: asked again, with every account holding one, it answers
// CodeCredentialsIssued and says how to reissue.
func (s *Service) IssueCredentials(ctx context.Context, tenant string, req IssueRequest) ([]IssuedCredential, error) {
	var issued []IssuedCredential
	err := s.dir.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		query, scope := issueQuery+" AND c.account_id IS NULL", "the county"
		var args []any
		if req.UnitID != 0 {
			name, err := unitName(ctx, conn, req.UnitID)
			if err != nil {
				return err
			}
			query, scope = query+" AND a.unit_id = ?", "unit "+name
			args = append(args, req.UnitID)
		}
		if err := conn.SelectContext(ctx, &issued, query+" ORDER BY u.sort_order, u.id, a.login", args...); err != nil {
			return err
		}
		if len(issued) == 0 {
			return nothingToIssue(ctx, conn, tenant, scope, req.UnitID)
		}
		return s.setIssued(ctx, conn, tenant, "auth.credentials.issue", issued)
	})
	if err != nil {
		return nil, err
	}
	return issued, nil
}

// nothingToIssue says why a credential sheet would be empty.
func nothingToIssue(ctx context.Context, q sqlx.QueryerContext, tenant, scope string, unit int64) error {
	query := "SELECT COUNT(*) FROM accounts WHERE status = 'active'"
	var args []any
	if unit != 0 {
		query += " AND unit_id = ?"
		args = append(args, unit)
	}
	var active int
	if err := sqlx.GetContext(ctx, q, &active, query, args...); err != nil {
		return err
	}
	if active == 0 {
		return errs.Conflict(CodeNoActiveAccounts, "%s has no active accounts to hand out passwords to; create them first (countycloud org accounts create, or org import)", scope)
	}
	holders := fmt.Sprintf("all %d active accounts of %s have their passwords", active, scope)
	if active == 1 {
		holders = fmt.Sprintf("the one active account of %s has its password", scope)
	}
	return errs.Conflict(CodeCredentialsIssued, "%s already: a credential sheet shows each password once, "+
		"and these were handed out before (or changed since by their holders). To give accounts new passwords, reissue them, which ends their sessions: "+
		"countycloud org credentials reissue --tenant %s --login LOGIN (or --unit ID), or POST /v1/tenants/%s/credentials/reissue", holders, tenant, tenant)
}

// ReissueCredentials gives the accounts req names new random passwords
// that must be changed at first login, in one transaction, audited, and
// ends their sessions and API tokens: the old passwords stop working. A
// unit admin reissues within their reach only, and never for an account
// holding the county admin's role.
func (s *Service) ReissueCredentials(ctx context.Context, tenant string, req ReissueRequest) ([]IssuedCredential, error) {
	logins, err := reissueLogins(req)
	if err != nil {
		return nil, err
	}
	var issued []IssuedCredential
	err = s.dir.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		if req.UnitID != 0 {
			name, err := unitName(ctx, conn, req.UnitID)
			if err != nil {
				return err
			}
			if err := CheckReach(ctx, conn, req.UnitID, nil); err != nil {
				return err
			}
			if err := conn.SelectContext(ctx, &issued, issueQuery+" AND a.unit_id = ? ORDER BY a.login", req.UnitID); err != nil {
				return err
			}
			if len(issued) == 0 {
				return errs.Conflict(CodeNoActiveAccounts, "unit %s has no active accounts", name)
			}
		} else {
			query, args, err := sqlx.In(issueQuery+" AND a.login IN (?) ORDER BY u.sort_order, u.id, a.login", logins)
			if err != nil {
				return err
			}
			if err := conn.SelectContext(ctx, &issued, query, args...); err != nil {
				return err
			}
			if missing := missingLogins(logins, issued); len(missing) > 0 {
				return errs.NotFound(CodeAccountNotFound, "no active account %s in the county", strings.Join(missing, ", "))
			}
		}
		if err := checkReachOfAll(ctx, conn, issued); err != nil {
			return err
		}
		return s.setIssued(ctx, conn, tenant, "auth.credentials.reissue", issued)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range issued {
		if err := s.revokeEverything(ctx, tenant, c.AccountID, "password_reset"); err != nil {
			return nil, err
		}
	}
	return issued, nil
}

// reissueLogins checks that req names accounts or a unit, and returns the
// logins without repeats.
func reissueLogins(req ReissueRequest) ([]string, error) {
	switch {
	case len(req.Logins) == 0 && req.UnitID <= 0:
		return nil, errs.Invalid(CodeInvalidReissue, "name the accounts (logins) or their unit (unit_id) whose passwords to reissue")
	case len(req.Logins) > 0 && req.UnitID != 0:
		return nil, errs.Invalid(CodeInvalidReissue, "name the accounts (logins) or a unit (unit_id), not both")
	case len(req.Logins) > MaxReissueLogins:
		return nil, errs.Invalid(CodeInvalidReissue, "%d logins are over %d; reissue a unit's passwords by its unit_id", len(req.Logins), MaxReissueLogins)
	}
	var logins []string
	for _, l := range req.Logins {
		if l == "" {
			return nil, errs.Invalid(CodeInvalidReissue, "an empty login")
		}
		if !slices.Contains(logins, l) {
			logins = append(logins, l)
		}
	}
	return logins, nil
}

func missingLogins(logins []string, found []IssuedCredential) []string {
	var missing []string
	for _, l := range logins {
		if !slices.ContainsFunc(found, func(c IssuedCredential) bool { return c.Login == l }) {
			missing = append(missing, l)
		}
	}
	return missing
}

// checkReachOfAll applies the caller's reach to every account whose
// password would be replaced.
func checkReachOfAll(ctx context.Context, q *sqlx.Conn, accounts []IssuedCredential) error {
	ids := make([]int64, len(accounts))
	for i, a := range accounts {
		ids[i] = a.AccountID
	}
	query, args, err := sqlx.In("SELECT ar.account_id FROM account_roles ar JOIN roles r ON r.id = ar.role_id WHERE r.code = ? AND ar.account_id IN (?)", RoleCountyAdmin, ids)
	if err != nil {
		return err
	}
	var admins []int64
	if err := q.SelectContext(ctx, &admins, query, args...); err != nil {
		return err
	}
	checked := map[int64]bool{}
	for _, a := range accounts {
		if slices.Contains(admins, a.AccountID) {
			if err := CheckReach(ctx, q, a.UnitID, []string{RoleCountyAdmin}); err != nil {
				return err
			}
			continue
		}
		if !checked[a.UnitID] {
			if err := CheckReach(ctx, q, a.UnitID, nil); err != nil {
				return err
			}
			checked[a.UnitID] = true
		}
	}
	return nil
}

func unitName(ctx context.Context, q sqlx.QueryerContext, id int64) (string, error) {
	var name string
	err := sqlx.GetContext(ctx, q, &name, "SELECT name FROM units WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFound("unit_not_found", "unit %d does not exist", id)
	}
	return name, err
}

// setIssued gives the accounts of issued random passwords, to be changed
// at first login, in one transaction with an audit entry each.
func (s *Service) setIssued(ctx context.Context, conn *sqlx.Conn, tenant, action string, issued []IssuedCredential) error {
	hashes := s.hashAll(issued)
	err := store.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
		for i, c := range issued {
			if err := setPassword(ctx, tx, tenant, c.AccountID, hashes[i], true); err != nil {
				return err
			}
			if err := audit.Write(ctx, tx, audit.New(ctx, action, "account", strconv.FormatInt(c.AccountID, 10), nil, nil)); err != nil {
				return err
			}
		}
		return RenewSecurity(ctx, tx, accountIDs(issued)...)
	})
	if err == nil {
		s.SecurityRenewed(tenant, accountIDs(issued)...)
	}
	return err
}

func accountIDs(creds []IssuedCredential) []int64 {
	ids := make([]int64, len(creds))
	for i, c := range creds {
		ids[i] = c.AccountID
	}
	return ids
}

// hashAll fills in random passwords and returns their hashes, two at a
// time: argon2id is meant to be slow, and a county has hundreds of
// accounts.
func (s *Service) hashAll(creds []IssuedCredential) []string {
	hashes := make([]string, len(creds))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				creds[i].Password = GeneratePassword()
				hashes[i] = s.cfg.Argon2.HashPassword(creds[i].Password)
			}
		}()
	}
	for i := range creds {
		next <- i
	}
	close(next)
	wg.Wait()
	return hashes
}

// ResetPassword gives account id of tenant ("" for operators) a new
// random password that must be changed at first login, and ends its
// sessions and API tokens.
func (s *Service) ResetPassword(ctx context.Context, tenant string, id int64) (IssuedCredential, error) {
	p, ok, err := s.dir.principal(ctx, tenant, id)
	if err != nil {
		return IssuedCredential{}, err
	}
	if !ok {
		return IssuedCredential{}, errs.NotFound(CodeAccountNotFound, "no active account %d", id)
	}
	password := GeneratePassword()
	hash := s.cfg.Argon2.HashPassword(password)
	err = s.dir.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := setPassword(ctx, tx, tenant, id, hash, true); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "auth.password.reset", subject(tenant), strconv.FormatInt(id, 10), nil, nil))
	})
	if err != nil {
		return IssuedCredential{}, err
	}
	if err := s.revokeEverything(ctx, tenant, id, "password_reset"); err != nil {
		return IssuedCredential{}, err
	}
	return IssuedCredential{AccountID: id, Login: p.Login, Name: p.Name, Password: password}, nil
}

// OperatorInput adds a provincial operator.
type OperatorInput struct {
	Login string `json:"login"`
	Name  string `json:"name"`
}

var operatorLogin = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// CodeInvalidOperator is the code of an operator that cannot be added.
const CodeInvalidOperator = "invalid_operator"

// AddOperator adds an operator with a random first password.
func (s *Service) AddOperator(ctx context.Context, in OperatorInput) (IssuedCredential, error) {
	login := strings.TrimSpace(in.Login)
	if !operatorLogin.MatchString(login) {
		return IssuedCredential{}, errs.Invalid(CodeInvalidOperator, "login %q: use 2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit", in.Login)
	}
	name, err := names.Clean("name", in.Name, 64)
	if err != nil {
		return IssuedCredential{}, errs.Invalid(CodeInvalidOperator, "%v", err)
	}
	password := GeneratePassword()
	hash := s.cfg.Argon2.HashPassword(password)
	added := IssuedCredential{Login: login, Name: name, Password: password}
	err = s.dir.write(ctx, "", func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT IGNORE INTO operators (login, name, password_hash, must_change, created_at) VALUES (?, ?, ?, TRUE, ?)",
			login, name, hash, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("add operator: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Conflict("operator_exists", "operator %s exists", login)
		}
		added.AccountID, _ = res.LastInsertId()
		after := struct{ Login, Name string }{login, name}
		return audit.Write(ctx, tx, audit.New(ctx, "auth.operators.add", "operator", strconv.FormatInt(added.AccountID, 10), nil, after))
	})
	if err != nil {
		return IssuedCredential{}, err
	}
	return added, nil
}

package auth

import (
	"context"
	"fmt"
	"regexp"
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
	Unit      string `json:"unit" db:"unit"`
	Password  string `json:"password" db:"-"`
}

// IssueRequest selects whose credentials are issued.
type IssueRequest struct {
	// UnitID limits the issue to one unit's accounts; 0 is the county.
	UnitID int64 `json:"unit_id"`
	// Reissue also replaces passwords accounts already have (and ends
	// their sessions); otherwise only accounts without one get one.
	Reissue bool `json:"reissue"`
}

// CodeAccountNotFound is the code of an account a reset names that the
// county does not have.
const CodeAccountNotFound = "account_not_found"

// IssueCredentials gives active accounts of tenant random passwords that
// must be changed at first login, all in one transaction, and returns them
// for the credential sheet.
func (s *Service) IssueCredentials(ctx context.Context, tenant string, req IssueRequest) ([]IssuedCredential, error) {
	var issued []IssuedCredential
	err := s.dir.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		query := `SELECT a.id, a.login, a.name, u.name AS unit FROM accounts a JOIN units u ON u.id = a.unit_id
			LEFT JOIN credentials c ON c.account_id = a.id WHERE a.status = 'active'`
		var args []any
		if req.UnitID != 0 {
			var n int
			if err := conn.GetContext(ctx, &n, "SELECT COUNT(*) FROM units WHERE id = ?", req.UnitID); err != nil {
				return err
			}
			if n == 0 {
				return errs.NotFound("unit_not_found", "unit %d does not exist", req.UnitID)
			}
			query += " AND a.unit_id = ?"
			args = append(args, req.UnitID)
		}
		if !req.Reissue {
			query += " AND c.account_id IS NULL"
		}
		if err := conn.SelectContext(ctx, &issued, query+" ORDER BY u.sort_order, u.id, a.login", args...); err != nil {
			return err
		}
		hashes := s.hashAll(issued)
		return store.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
			for i, c := range issued {
				if err := setPassword(ctx, tx, tenant, c.AccountID, hashes[i], true); err != nil {
					return err
				}
				if err := audit.Write(ctx, tx, audit.New(ctx, "auth.credentials.issue", "account", strconv.FormatInt(c.AccountID, 10), nil, nil)); err != nil {
					return err
				}
			}
			return RenewSecurity(ctx, tx, accountIDs(issued)...)
		})
	})
	if err != nil {
		return nil, err
	}
	s.SecurityRenewed(tenant, accountIDs(issued)...)
	if req.Reissue {
		for _, c := range issued {
			if err := s.revokeEverything(ctx, tenant, c.AccountID, "password_reset"); err != nil {
				return nil, err
			}
		}
	}
	if issued == nil {
		issued = []IssuedCredential{}
	}
	return issued, nil
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
		if tenant != "" {
			if err := RenewSecurity(ctx, tx, id); err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx, audit.New(ctx, "auth.password.reset", subject(tenant), strconv.FormatInt(id, 10), nil, nil))
	})
	if err != nil {
		return IssuedCredential{}, err
	}
	s.SecurityRenewed(tenant, id)
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

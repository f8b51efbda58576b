package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/store"
)

// AccountInput creates an account.
type AccountInput struct {
	Login  string   `json:"login"`
	Name   string   `json:"name"`
	UnitID int64    `json:"unit_id"`
	Roles  []string `json:"roles,omitempty"`
	Mobile string   `json:"mobile,omitempty"`
	Email  string   `json:"email,omitempty"`
}

// AccountPatch changes an account; nil fields stay.
type AccountPatch struct {
	Name   *string   `json:"name,omitempty"`
	UnitID *int64    `json:"unit_id,omitempty"`
	Roles  *[]string `json:"roles,omitempty"`
	Mobile *string   `json:"mobile,omitempty"`
	Email  *string   `json:"email,omitempty"`
	Status *string   `json:"status,omitempty"`
}

// AccountFilter pages through accounts by id.
type AccountFilter struct {
	UnitID int64
	Status string
	After  int64
	Limit  int
}

// AccountPage is one page of accounts; NextAfter is 0 on the last page.
type AccountPage struct {
	Accounts  []Account `json:"accounts"`
	NextAfter int64     `json:"next_after,omitempty"`
}

// Page sizes of ListAccounts.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

const accountColumns = "id, login, name, unit_id, COALESCE(mobile, '') AS mobile, COALESCE(email, '') AS email, status, created_at, updated_at"

func (s *service) ListAccounts(ctx context.Context, tenant string, f AccountFilter) (AccountPage, error) {
	switch {
	case f.Limit == 0:
		f.Limit = DefaultPageSize
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return AccountPage{}, errs.Invalid(CodeInvalidList, "limit %d is not between 1 and %d", f.Limit, MaxPageSize)
	}
	if f.Status != "" {
		if err := checkStatus(f.Status); err != nil {
			return AccountPage{}, errs.Invalid(CodeInvalidList, "%s", errs.As(err).Message)
		}
	}
	query := "SELECT " + accountColumns + " FROM accounts WHERE id > ?"
	args := []any{f.After}
	if f.UnitID != 0 {
		query += " AND unit_id = ?"
		args = append(args, f.UnitID)
	}
	if f.Status != "" {
		query += " AND status = ?"
		args = append(args, f.Status)
	}
	args = append(args, f.Limit+1)
	// sqlx appends to the slice it is given: sized for the page, the scan
	// never grows it.
	page := AccountPage{Accounts: make([]Account, 0, f.Limit+1)}
	err := s.read(ctx, tenant, func(ctx context.Context, q querier) error {
		if err := q.SelectContext(ctx, &page.Accounts, query+" ORDER BY id LIMIT ?", args...); err != nil {
			return err
		}
		return attachRoles(ctx, q, page.Accounts)
	})
	if len(page.Accounts) > f.Limit {
		page.Accounts = page.Accounts[:f.Limit]
		page.NextAfter = page.Accounts[f.Limit-1].ID
	}
	return page, err
}

// attachRoles fills in the role codes of accounts, in one query.
func attachRoles(ctx context.Context, q querier, accounts []Account) error {
	if len(accounts) == 0 {
		return nil
	}
	index := make(map[int64]int, len(accounts))
	args := make([]any, len(accounts))
	for i := range accounts {
		index[accounts[i].ID] = i
		args[i] = accounts[i].ID
		accounts[i].Roles = []string{}
	}
	type accountRole struct {
		AccountID int64  `db:"account_id"`
		Code      string `db:"code"`
	}
	rows := make([]accountRole, 0, 2*len(accounts))
	err := q.SelectContext(ctx, &rows, `SELECT ar.account_id, r.code FROM account_roles ar JOIN roles r ON r.id = ar.role_id
WHERE ar.account_id IN (?`+strings.Repeat(", ?", len(args)-1)+`) ORDER BY r.code`, args...)
	if err != nil {
		return fmt.Errorf("read roles of accounts: %w", err)
	}
	for _, r := range rows {
		a := &accounts[index[r.AccountID]]
		a.Roles = append(a.Roles, r.Code)
	}
	return nil
}

func getAccount(ctx context.Context, q querier, id int64, lock bool) (Account, error) {
	var a Account
	query := "SELECT " + accountColumns + " FROM accounts WHERE id = ?"
	if lock {
		query += " FOR UPDATE"
	}
	err := q.GetContext(ctx, &a, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.NotFound(CodeAccountNotFound, "account %d does not exist", id)
	}
	if err != nil {
		return Account{}, err
	}
	accounts := []Account{a}
	if err := attachRoles(ctx, q, accounts); err != nil {
		return Account{}, err
	}
	return accounts[0], nil
}

func (s *service) GetAccount(ctx context.Context, tenant string, id int64) (Account, error) {
	var a Account
	err := s.read(ctx, tenant, func(ctx context.Context, q querier) (err error) {
		a, err = getAccount(ctx, q, id, false)
		return err
	})
	return a, err
}

// checkRoom refuses one more active account in unit when its quota is
// reached. The unit's row is locked, so concurrent additions take turns.
func checkRoom(ctx context.Context, q querier, unitID int64) error {
	u, err := getUnit(ctx, q, unitID, true)
	if err != nil {
		return err
	}
	if u.Quota != nil && u.Accounts >= *u.Quota {
		return errs.Conflict(CodeQuotaExceeded, "unit %s has %d active accounts, its quota; an approved quota request raises it", u.Name, u.Accounts)
	}
	return nil
}

func setRoles(ctx context.Context, tx *sqlx.Tx, accountID int64, roleIDs []int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM account_roles WHERE account_id = ?", accountID); err != nil {
		return err
	}
	if len(roleIDs) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(roleIDs))
	for _, r := range roleIDs {
		args = append(args, accountID, r)
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO account_roles (account_id, role_id) VALUES (?, ?)"+strings.Repeat(", (?, ?)", len(roleIDs)-1), args...)
	return err
}

func (s *service) CreateAccount(ctx context.Context, tenant string, in AccountInput) (Account, error) {
	if err := checkLogin(in.Login); err != nil {
		return Account{}, err
	}
	name, err := cleanName("account", CodeInvalidAccount, in.Name)
	if err != nil {
		return Account{}, err
	}
	mobile, err := cleanMobile(in.Mobile)
	if err != nil {
		return Account{}, err
	}
	email, err := cleanEmail(in.Email)
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := auth.CheckReach(ctx, tx, in.UnitID, in.Roles); err != nil {
			return err
		}
		roles, err := roleIDs(ctx, tx, in.Roles)
		if err != nil {
			return err
		}
		if err := checkRoom(ctx, tx, in.UnitID); err != nil {
			return err
		}
		t := now()
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (login, name, unit_id, mobile, email, status, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, in.Login, name, in.UnitID, nullString(mobile), nullString(email), StatusActive, t, t)
		if store.IsDuplicate(err) {
			return errs.Conflict(CodeLoginExists, "login %s is taken", in.Login)
		}
		if err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if err := setRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		if a, err = getAccount(ctx, tx, id, false); err != nil {
			return err
		}
		if err := notify.DirectoryChanged(ctx, tx); err != nil {
			return err
		}
		return record(ctx, tx, "org.accounts.create", "account", id, nil, a)
	})
	return a, err
}

func (s *service) UpdateAccount(ctx context.Context, tenant string, id int64, p AccountPatch) (Account, error) {
	var name, mobile, email string
	var err error
	if p.Name != nil {
		if name, err = cleanName("account", CodeInvalidAccount, *p.Name); err != nil {
			return Account{}, err
		}
	}
	if p.Mobile != nil {
		if mobile, err = cleanMobile(*p.Mobile); err != nil {
			return Account{}, err
		}
	}
	if p.Email != nil {
		if email, err = cleanEmail(*p.Email); err != nil {
			return Account{}, err
		}
	}
	if p.Status != nil {
		if err := checkStatus(*p.Status); err != nil {
			return Account{}, err
		}
	}
	var a Account
	// renew is whether the change reaches the account's tokens.
	var renew bool
	err = s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		cur, err := getAccount(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := auth.CheckReach(ctx, tx, cur.UnitID, cur.Roles); err != nil {
			return err
		}
		next := cur
		if p.Name != nil {
			next.Name = name
		}
		if p.Mobile != nil {
			next.Mobile = mobile
		}
		if p.Email != nil {
			next.Email = email
		}
		if p.Status != nil {
			next.Status = *p.Status
		}
		if p.UnitID != nil {
			next.UnitID = *p.UnitID
		}
		if p.Roles != nil {
			next.Roles = *p.Roles
		}
		if err := auth.CheckReach(ctx, tx, next.UnitID, next.Roles); err != nil {
			return err
		}
		// An account that becomes active in a unit takes a place there.
		if next.Status == StatusActive && (cur.Status != StatusActive || next.UnitID != cur.UnitID) {
			if err := checkRoom(ctx, tx, next.UnitID); err != nil {
				return err
			}
		}
		if p.Roles != nil {
			roles, err := roleIDs(ctx, tx, *p.Roles)
			if err != nil {
				return err
			}
			if err := setRoles(ctx, tx, id, roles); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE accounts SET name = ?, unit_id = ?, mobile = ?, email = ?, status = ?, updated_at = ? WHERE id = ?",
			next.Name, next.UnitID, nullString(next.Mobile), nullString(next.Email), next.Status, now(), id)
		if err != nil {
			return fmt.Errorf("update account %d: %w", id, err)
		}
		if a, err = getAccount(ctx, tx, id, false); err != nil {
			return err
		}
		if renew = !slices.Equal(a.Roles, cur.Roles) || a.UnitID != cur.UnitID || a.Status != cur.Status; renew {
			if err := auth.RenewSecurity(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := notify.DirectoryChanged(ctx, tx); err != nil {
			return err
		}
		return record(ctx, tx, "org.accounts.update", "account", id, cur, a)
	})
	if err == nil && renew {
		s.renewed(tenant, id)
	}
	return a, err
}

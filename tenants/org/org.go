// Package org is a county's organisation as the staffing office (编办)
// hands it over: units in a tree, accounts in units, the roles accounts
// carry, and account quotas per unit that only an approved request raises.
// Every access goes through the router to the county's own schema.
package org

import (
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
)

// Unit is a department of the county: 发改局, 民政局 ….
type Unit struct {
	ID       int64  `json:"id" db:"id"`
	Name     string `json:"name" db:"name"`
	Code     string `json:"code,omitempty" db:"code"`
	ParentID *int64 `json:"parent_id,omitempty" db:"parent_id"`
	Sort     int    `json:"sort_order" db:"sort_order"`
	// Quota caps the unit's active accounts; nil means no cap.
	Quota     *int      `json:"account_quota,omitempty" db:"account_quota"`
	Accounts  int       `json:"accounts" db:"accounts"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// PublicUnit is what citizens and enterprises see of a unit on the
// county's public pages: where to turn, not how it is staffed.
type PublicUnit struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Code     string `json:"code,omitempty"`
	ParentID *int64 `json:"parent_id,omitempty"`
	Sort     int    `json:"sort_order"`
}

// Account is a person's login in the county.
type Account struct {
	ID        int64     `json:"id" db:"id"`
	Login     string    `json:"login" db:"login"`
	Name      string    `json:"name" db:"name"`
	UnitID    int64     `json:"unit_id" db:"unit_id"`
	Roles     []string  `json:"roles" db:"-"`
	Mobile    string    `json:"mobile,omitempty" db:"mobile"`
	Email     string    `json:"email,omitempty" db:"email"`
	Status    string    `json:"status" db:"status"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// Role is what an account may do: 领导, 收发员, 业务管理员, 系统管理员 ….
type Role struct {
	ID      int64  `json:"-" db:"id"`
	Code    string `json:"code" db:"code"`
	Name    string `json:"name" db:"name"`
	Builtin bool   `json:"builtin" db:"builtin"`
}

// QuotaRequest asks to raise a unit's account quota (DOMAIN.md: more
// accounts need a written request approved by the leading group).
type QuotaRequest struct {
	ID           int64      `json:"id" db:"id"`
	UnitID       int64      `json:"unit_id" db:"unit_id"`
	Quota        int        `json:"quota" db:"quota"`
	Reason       string     `json:"reason" db:"reason"`
	Status       string     `json:"status" db:"status"`
	RequestedBy  string     `json:"requested_by" db:"requested_by"`
	RequestedAt  time.Time  `json:"requested_at" db:"requested_at"`
	DecidedBy    string     `json:"decided_by,omitempty" db:"decided_by"`
	DecidedAt    *time.Time `json:"decided_at,omitempty" db:"decided_at"`
	DecisionNote string     `json:"decision_note,omitempty" db:"decision_note"`
}

// Account statuses. Only active accounts count against a unit's quota.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Quota request statuses.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestRejected = "rejected"
)

// Error codes of this package.
const (
	CodeInvalidUnit     = "invalid_unit"
	CodeInvalidAccount  = "invalid_account"
	CodeInvalidRole     = "invalid_role"
	CodeInvalidRequest  = "invalid_quota_request"
	CodeUnitNotFound    = "unit_not_found"
	CodeAccountNotFound = "account_not_found"
	CodeRequestNotFound = "quota_request_not_found"
	CodeUnknownRole     = "unknown_role"
	CodeUnitExists      = "unit_exists"
	CodeLoginExists     = "login_exists"
	CodeRoleExists      = "role_exists"
	CodeUnitCycle       = "unit_cycle"
	CodeQuotaExceeded   = "unit_quota_exceeded"
	CodeRequestDecided  = "quota_request_decided"
	CodeInvalidList     = "invalid_list_request"
	CodeReservedRole    = "reserved_role"
)

// Limits on fields.
const (
	MaxNameLen = 64
	MaxQuota   = 100000
	MaxReason  = 1000
)

var (
	loginPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)
	unitCodePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
	roleCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)
	mobilePattern   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// cleanName checks a unit's, account's or role's name.
func cleanName(what, code, s string) (string, error) {
	name, err := names.Clean(what+" name", s, MaxNameLen)
	if err != nil {
		return "", errs.Invalid(code, "%v", err)
	}
	return name, nil
}

// checkNotReserved refuses a role code the platform keeps for itself
// (auth.ReservedRoles): a county's role by such a code would read as a
// right no county can give. Refused as forbidden, it is in the trail.
func checkNotReserved(code string) error {
	if auth.IsReservedRole(code) {
		return errs.E(errs.KindForbidden, CodeReservedRole, "role code %s is reserved by the platform; a county cannot create or give it", code)
	}
	return nil
}

func checkUnitCode(s string) error {
	if s != "" && !unitCodePattern.MatchString(s) {
		return errs.Invalid(CodeInvalidUnit, "unit code %q: use up to 32 letters, digits, dots, dashes or underscores", s)
	}
	return nil
}

func checkQuota(q *int) error {
	if q != nil && (*q < 0 || *q > MaxQuota) {
		return errs.Invalid(CodeInvalidUnit, "account quota %d is not between 0 and %d", *q, MaxQuota)
	}
	return nil
}

func checkLogin(s string) error {
	if !loginPattern.MatchString(s) {
		return errs.Invalid(CodeInvalidAccount, "login %q: use 2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit", s)
	}
	return nil
}

// cleanMobile accepts a mainland mobile number, with or without +86 and
// separators, and returns its 11 digits.
func cleanMobile(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	digits := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
	digits = strings.TrimPrefix(strings.TrimPrefix(digits, "+86"), "0086")
	if !mobilePattern.MatchString(digits) {
		return "", errs.Invalid(CodeInvalidAccount, "mobile number %q is not an 11-digit mainland number starting with 13 to 19", s)
	}
	return digits, nil
}

func cleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || len(s) > 254 {
		return "", errs.Invalid(CodeInvalidAccount, "e-mail address %q is not valid", s)
	}
	return s, nil
}

func checkStatus(s string) error {
	if s != StatusActive && s != StatusDisabled {
		return errs.Invalid(CodeInvalidAccount, "status %q is not active or disabled", s)
	}
	return nil
}

// Package registry is the registry of provinces, cities and counties: the
// tenants of CountyCloud. Only counties own a schema; provisioning it is
// delegated to a Provisioner.
package registry

import (
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
)

// Level is a tenant's place in the administrative hierarchy.
type Level string

const (
	LevelProvince Level = "province"
	LevelCity     Level = "city"
	LevelCounty   Level = "county"
)

// Status is where a tenant is in its life.
type Status string

const (
	// StatusProvisioning: a county whose schema is being created. A county
	// left here by a crash is finished by a retry.
	StatusProvisioning Status = "provisioning"
	StatusReady        Status = "ready"
	// StatusFailed: provisioning stopped; Failure says why; retryable.
	StatusFailed    Status = "failed"
	StatusSuspended Status = "suspended"
	// StatusArchived: out of service, its data kept. Nothing is deleted.
	StatusArchived Status = "archived"
)

// Tenant is a province, city or county.
type Tenant struct {
	Code          string `json:"code" db:"code"`
	Name          string `json:"name" db:"name"`
	Level         Level  `json:"level" db:"level"`
	Parent        string `json:"parent,omitempty" db:"parent_code"`
	Status        Status `json:"status" db:"status"`
	Schema        string `json:"schema,omitempty" db:"schema_name"`
	Cluster       string `json:"cluster,omitempty" db:"cluster"`
	SchemaVersion int64  `json:"schema_version" db:"schema_version"`
	Failure       string `json:"failure,omitempty" db:"failure"`
	// HeldSince is when the county's writes were held for billing, nil
	// while they are not (Hold); HoldReason says why.
	HeldSince  *time.Time `json:"held_since,omitempty" db:"held_since"`
	HoldReason string     `json:"hold_reason,omitempty" db:"hold_reason"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at" db:"updated_at"`
}

// provisioned reports whether the tenant has everything it needs to
// serve: nothing for provinces and cities, a migrated schema for counties.
func (t Tenant) provisioned() bool {
	return t.Level != LevelCounty || t.SchemaVersion > 0
}

// Error codes of this package.
const (
	CodeInvalidCode        = "invalid_tenant_code"
	CodeInvalidName        = "invalid_tenant_name"
	CodeInvalidLevel       = "invalid_level"
	CodeUnknownParent      = "unknown_parent"
	CodeInvalidParent      = "invalid_parent"
	CodeParentArchived     = "parent_archived"
	CodeTenantExists       = "tenant_exists"
	CodeTenantNotFound     = errs.CodeTenantNotFound
	CodeInvalidStatus      = "invalid_status"
	CodeStatusChange       = "invalid_status_change"
	CodeHasActiveChildren  = "has_active_children"
	CodeProvisioningBusy   = "provisioning_in_progress"
	CodeNotRetryable       = "not_retryable"
	CodeInvalidListRequest = "invalid_list_request"
	CodeUnknownCluster     = "unknown_cluster"
	CodeInvalidHoldReason  = "invalid_hold_reason"
	// CodeBillingSuspended refuses a write to a county held for billing.
	CodeBillingSuspended = errs.CodeBillingSuspended
)

// Limits on codes and names. A code becomes a schema name (prefix + code
// with dots as underscores), which MySQL caps at 64 characters.
const (
	MaxCodeLen    = 48
	MaxSegmentLen = 24
	MaxDepth      = 3
	MaxNameLen    = 64
	// MaxHoldReasonLen is the most characters a hold's reason may have.
	MaxHoldReasonLen = 200
)

// ParseCode checks a tenant code: one to three lowercase pinyin segments
// joined by dots, such as gd, gd.shaoguan or gd.shaoguan.wengyuan.
func ParseCode(s string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", errs.Invalid(CodeInvalidCode, "tenant code %q: "+format, append([]any{s}, args...)...)
	}
	if s == "" {
		return bad("is empty; give lowercase pinyin segments joined by dots, such as gd.shaoguan.wengyuan")
	}
	if len(s) > MaxCodeLen {
		return bad("is %d bytes long; at most %d are allowed", len(s), MaxCodeLen)
	}
	segments := strings.Split(s, ".")
	if len(segments) > MaxDepth {
		return bad("has %d segments; at most %d (province.city.county)", len(segments), MaxDepth)
	}
	for _, seg := range segments {
		if seg == "" {
			return bad("has an empty segment; segments are joined by single dots")
		}
		if len(seg) > MaxSegmentLen {
			return bad("segment %q is over %d letters", seg, MaxSegmentLen)
		}
		for _, r := range seg {
			if r < 'a' || r > 'z' {
				return bad("segment %q may hold only the lowercase letters a-z (pinyin without tones)", seg)
			}
		}
	}
	return s, nil
}

// parentCode is the code one level up, "" for a province.
func parentCode(code string) string {
	i := strings.LastIndexByte(code, '.')
	if i < 0 {
		return ""
	}
	return code[:i]
}

func depth(code string) int { return strings.Count(code, ".") + 1 }

// ParseName checks a tenant's name, such as 翁源县. Surrounding spaces are
// dropped.
func ParseName(s string) (string, error) {
	name, err := names.Clean("tenant name", s, MaxNameLen)
	if err != nil {
		return "", errs.Invalid(CodeInvalidName, "%v", err)
	}
	return name, nil
}

// ParseHoldReason checks why a county's writes are held, such as
// 账户逾期未付（发票 in_1A2B）. Surrounding spaces are dropped.
func ParseHoldReason(s string) (string, error) {
	reason, err := names.Clean("hold reason", s, MaxHoldReasonLen)
	if err != nil {
		return "", errs.Invalid(CodeInvalidHoldReason, "%v; say why the county's writes are held, such as 账户逾期未付", err)
	}
	return reason, nil
}

// resolveLevel returns the level asked for, or the one the code's depth
// implies. A county-level district may sit directly under a municipality
// (bj.haidian), so depth 2 may be a county when asked for.
func resolveLevel(code, asked string) (Level, error) {
	d := depth(code)
	if asked == "" {
		return [...]Level{LevelProvince, LevelCity, LevelCounty}[d-1], nil
	}
	level := Level(asked)
	ok := false
	switch level {
	case LevelProvince:
		ok = d == 1
	case LevelCity:
		ok = d == 2
	case LevelCounty:
		ok = d == 2 || d == 3
	default:
		return "", errs.Invalid(CodeInvalidLevel, "level %q is not one of province, city, county", asked)
	}
	if !ok {
		return "", errs.Invalid(CodeInvalidLevel, "a %s cannot have the %d-segment code %q", level, d, code)
	}
	return level, nil
}

// parentLevel is the level a tenant's parent must have.
func parentLevel(level Level, code string) Level {
	if level == LevelCounty && depth(code) == 3 {
		return LevelCity
	}
	return LevelProvince
}

// SchemaName is the schema a county's data lives in: prefix + the code with
// dots as underscores. Codes hold only a-z and dots, so names never clash.
func SchemaName(prefix, code string) string {
	return prefix + strings.ReplaceAll(code, ".", "_")
}

// settableStatuses are the statuses an operator may set directly; the
// others are the outcome of provisioning.
var settableStatuses = map[Status]bool{StatusReady: true, StatusSuspended: true, StatusArchived: true}

func errStatusNotSettable(to Status) error {
	return errs.Invalid(CodeInvalidStatus, "status %q cannot be set; use ready, suspended or archived", to)
}

// retryable reports whether provisioning t may be run (again): it failed,
// a crash interrupted it, or it was archived before it ever finished.
func retryable(t Tenant) bool {
	switch t.Status {
	case StatusFailed, StatusProvisioning:
		return true
	case StatusArchived:
		return !t.provisioned()
	}
	return false
}

// checkTransition says whether t may move to status `to`.
func checkTransition(t Tenant, to Status) error {
	if !settableStatuses[to] {
		return errStatusNotSettable(to)
	}
	if t.Status == to {
		return nil
	}
	switch t.Status {
	case StatusProvisioning:
		return errs.Conflict(CodeProvisioningBusy, "%s is being provisioned; wait for it to finish", t.Code)
	case StatusFailed:
		if to != StatusArchived {
			return errs.Conflict(CodeStatusChange, "%s failed to provision; retry it (countycloud tenant retry %s) or archive it", t.Code, t.Code)
		}
	case StatusArchived:
		if !t.provisioned() {
			return errs.Conflict(CodeStatusChange, "%s was archived before it was provisioned; retry it (countycloud tenant retry %s) to finish it", t.Code, t.Code)
		}
		if to != StatusReady {
			return errs.Conflict(CodeStatusChange, "an archived tenant can only be restored to ready")
		}
	}
	return nil
}

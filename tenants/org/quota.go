package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
)

// QuotaInput asks for a unit's account quota to become Quota.
type QuotaInput struct {
	UnitID int64  `json:"unit_id"`
	Quota  int    `json:"quota"`
	Reason string `json:"reason"`
}

// Decision approves or rejects a quota request.
type Decision struct {
	Approve bool   `json:"-"`
	Note    string `json:"note,omitempty"`
}

const requestColumns = `id, unit_id, quota, reason, status, requested_by, requested_at, COALESCE(decided_by, '') AS decided_by,
decided_at, COALESCE(decision_note, '') AS decision_note`

func (s *service) ListQuotaRequests(ctx context.Context, tenant, status string) ([]QuotaRequest, error) {
	query := "SELECT " + requestColumns + " FROM quota_requests"
	var args []any
	switch status {
	case "":
	case RequestPending, RequestApproved, RequestRejected:
		query += " WHERE status = ?"
		args = append(args, status)
	default:
		return nil, errs.Invalid(CodeInvalidList, "status %q is not pending, approved or rejected", status)
	}
	requests := []QuotaRequest{}
	err := s.read(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.SelectContext(ctx, &requests, query+" ORDER BY id", args...)
	})
	return requests, err
}

func getRequest(ctx context.Context, q querier, id int64) (QuotaRequest, error) {
	var r QuotaRequest
	err := q.GetContext(ctx, &r, "SELECT "+requestColumns+" FROM quota_requests WHERE id = ? FOR UPDATE", id)
	if errors.Is(err, sql.ErrNoRows) {
		return QuotaRequest{}, errs.NotFound(CodeRequestNotFound, "quota request %d does not exist", id)
	}
	return r, err
}

func (s *service) RequestQuota(ctx context.Context, tenant, by string, in QuotaInput) (QuotaRequest, error) {
	reason := strings.TrimSpace(in.Reason)
	switch {
	case in.Quota < 1 || in.Quota > MaxQuota:
		return QuotaRequest{}, errs.Invalid(CodeInvalidRequest, "quota %d is not between 1 and %d", in.Quota, MaxQuota)
	case reason == "" || !utf8.ValidString(reason):
		return QuotaRequest{}, errs.Invalid(CodeInvalidRequest, "a quota request needs a reason, as the written request to the leading group gives it")
	case utf8.RuneCountInString(reason) > MaxReason:
		return QuotaRequest{}, errs.Invalid(CodeInvalidRequest, "reason is over %d characters", MaxReason)
	}
	var r QuotaRequest
	err := s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		u, err := getUnit(ctx, tx, in.UnitID, false)
		if err != nil {
			return err
		}
		if err := auth.CheckReach(ctx, tx, in.UnitID, nil); err != nil {
			return err
		}
		if u.Quota == nil || *u.Quota >= in.Quota {
			return errs.Invalid(CodeInvalidRequest, "unit %s already allows %s accounts; ask for more than that", u.Name, quotaText(u.Quota))
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO quota_requests (unit_id, quota, reason, status, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
			in.UnitID, in.Quota, reason, RequestPending, by, now())
		if err != nil {
			return fmt.Errorf("create quota request: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if r, err = getRequest(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, "org.quota.request", "quota_request", id, nil, r)
	})
	return r, err
}

func quotaText(q *int) string {
	if q == nil {
		return "unlimited"
	}
	return fmt.Sprint(*q)
}

// DecideQuota approves or rejects a pending request; approving raises the
// unit's quota. Who decided, when and why stay on the request.
func (s *service) DecideQuota(ctx context.Context, tenant, by string, id int64, d Decision) (QuotaRequest, error) {
	note := strings.TrimSpace(d.Note)
	if utf8.RuneCountInString(note) > MaxReason {
		return QuotaRequest{}, errs.Invalid(CodeInvalidRequest, "note is over %d characters", MaxReason)
	}
	var r QuotaRequest
	err := s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		cur, err := getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Status != RequestPending {
			return errs.Conflict(CodeRequestDecided, "quota request %d was %s already", id, cur.Status)
		}
		status := RequestRejected
		if d.Approve {
			status = RequestApproved
			if _, err := getUnit(ctx, tx, cur.UnitID, true); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE units SET account_quota = ?, updated_at = ? WHERE id = ? AND (account_quota IS NULL OR account_quota < ?)",
				cur.Quota, now(), cur.UnitID, cur.Quota); err != nil {
				return fmt.Errorf("raise quota of unit %d: %w", cur.UnitID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE quota_requests SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?",
			status, by, now(), nullString(note), id); err != nil {
			return fmt.Errorf("decide quota request %d: %w", id, err)
		}
		if r, err = getRequest(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, "org.quota."+status, "quota_request", id, cur, r)
	})
	return r, err
}

package rollout

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
)

// FeedbackFilter selects feedback items; zero fields select all.
type FeedbackFilter struct {
	Module string
	Unit   int64
	Status string
	// Overdue, if set, keeps the items whose current step is red (true)
	// or is not (false).
	Overdue *bool
	// Before keeps the items older than this id: the next page.
	Before int64
	Limit  int
}

// Feedback list limits.
const (
	defaultFeedbackPage = 100
	maxFeedbackPage     = 500
)

// ParseFeedbackFilter reads a list's query: module, unit, status,
// overdue (true or false), before and limit (1 to 500, 100 by default).
func ParseFeedbackFilter(q url.Values) (FeedbackFilter, error) {
	f := FeedbackFilter{Module: q.Get("module"), Status: q.Get("status"), Limit: defaultFeedbackPage}
	for name := range q {
		if !slices.Contains([]string{"module", "unit", "status", "overdue", "before", "limit"}, name) {
			return FeedbackFilter{}, errs.Invalid(CodeInvalidFeedback, "%q is not a filter of feedback: module, unit, status, overdue, before, limit", name)
		}
	}
	if len(f.Module) > 32 {
		return FeedbackFilter{}, errs.Invalid(CodeInvalidFeedback, "module %q is not a module's id", f.Module)
	}
	if f.Status != "" && !slices.Contains([]string{FeedbackReported, FeedbackAssigned, FeedbackAnswered, FeedbackConfirmed, FeedbackReopened}, f.Status) {
		return FeedbackFilter{}, errs.Invalid(CodeInvalidFeedback, "status %q is not one of reported, assigned, answered, confirmed, reopened", f.Status)
	}
	positive := func(name string) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, errs.Invalid(CodeInvalidFeedback, "%s %q is not a positive whole number", name, v)
		}
		return n, nil
	}
	var err error
	if f.Unit, err = positive("unit"); err != nil {
		return FeedbackFilter{}, err
	}
	if f.Before, err = positive("before"); err != nil {
		return FeedbackFilter{}, err
	}
	limit, err := positive("limit")
	switch {
	case err != nil:
		return FeedbackFilter{}, err
	case limit > maxFeedbackPage:
		return FeedbackFilter{}, errs.Invalid(CodeInvalidFeedback, "limit %d: at most %d items a page", limit, maxFeedbackPage)
	case limit > 0:
		f.Limit = int(limit)
	}
	switch v := q.Get("overdue"); v {
	case "":
	case "true", "false":
		b := v == "true"
		f.Overdue = &b
	default:
		return FeedbackFilter{}, errs.Invalid(CodeInvalidFeedback, "overdue %q is true or false", v)
	}
	return f, nil
}

// List is county's feedback that f selects and the caller may see: a
// vendor the items assigned to it, a unit's staff those of the units
// they reach, the county's admins, its supervisors (who watch the
// steps' time limits) and the province's operators all; newest first.
func (s *Feedback) List(ctx context.Context, county string, f FeedbackFilter) ([]FeedbackItem, error) {
	p := auth.PrincipalFrom(ctx)
	var where []string
	var args []any
	if keptToReach(p) {
		where = append(where, `f.unit_id IN (WITH RECURSIVE reach AS (SELECT id FROM units WHERE id = ?
UNION ALL SELECT u.id FROM units u JOIN reach r ON u.parent_id = r.id) SELECT id FROM reach)`)
		args = append(args, p.Unit)
	}
	if p.Kind == auth.KindVendor {
		where = append(where, "f.vendor = ?")
		args = append(args, p.Login)
	}
	if f.Module != "" {
		where, args = append(where, "f.module = ?"), append(args, f.Module)
	}
	if f.Unit != 0 {
		where, args = append(where, "f.unit_id = ?"), append(args, f.Unit)
	}
	if f.Status != "" {
		where, args = append(where, "f.status = ?"), append(args, f.Status)
	}
	if f.Before != 0 {
		where, args = append(where, "f.id < ?"), append(args, f.Before)
	}
	now := s.now().UTC()
	if f.Overdue != nil {
		if *f.Overdue {
			where, args = append(where, "f.due_at <= ?"), append(args, now)
		} else {
			where, args = append(where, "(f.due_at IS NULL OR f.due_at > ?)"), append(args, now)
		}
	}
	query := "SELECT " + feedbackColumns + " FROM rollout_feedback f"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY f.id DESC LIMIT " + strconv.Itoa(max(f.Limit, 1))
	items := []FeedbackItem{}
	err := s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := conn.SelectContext(ctx, &items, query, args...); err != nil {
			return fmt.Errorf("list feedback: %w", err)
		}
		return nil
	})
	for i := range items {
		items[i].colour(now)
	}
	return items, err
}

// VendorList is the feedback assigned to vendor in every county that
// enabled one of its modules, read one county at a time; the caller must
// be that vendor.
func (s *Feedback) VendorList(ctx context.Context, vendor string, f FeedbackFilter) ([]FeedbackItem, error) {
	if p := auth.PrincipalFrom(ctx); p.Kind != auth.KindVendor || p.Login != vendor {
		return nil, errs.E(errs.KindForbidden, CodeNotTheVendor, "this token is not vendor %q's", vendor)
	}
	counties, err := s.catalog.VendorModules(ctx, vendor)
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(counties))
	for c := range counties {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	out := []FeedbackItem{}
	for _, c := range codes {
		items, err := s.List(ctx, c, f)
		if errs.CodeOf(err) == errs.CodeTenantNotFound {
			// A county removed since it enabled the module has nothing
			// to answer.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("feedback of %s: %w", c, err)
		}
		for i := range items {
			items[i].County = c
		}
		out = append(out, items...)
	}
	return out, nil
}

// keptToReach reports whether p reads only the feedback of the units it
// reaches: an account that is neither the county's admin nor one of its
// supervisors.
func keptToReach(p auth.Principal) bool {
	return p.Kind == auth.KindAccount && !p.Has(auth.RoleCountyAdmin) && !p.Has(auth.RoleSupervisor)
}

package host

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Bounds of a directory call.
const (
	maxDirectoryIDs   = 1000
	maxDirectoryFound = 10000
)

// directory is the Directory service: the units and active accounts of
// the county of each call's capability. It acts for an account (a module
// checks the recipients someone names), so an anonymous caller of a
// public route is refused: the county's staff are not public.
type directory struct {
	guard
	router Router
}

func (s *directory) Units(ctx context.Context, req *pluginv1.UnitsRequest) (*pluginv1.UnitsResponse, error) {
	c, err := s.account(req.GetCapability(), "the directory's look-ups")
	if err != nil {
		return nil, err
	}
	if err := checkDirectoryIDs("ids", req.GetIds()); err != nil {
		return nil, err
	}
	query, args := "SELECT id, name, COALESCE(code, '') AS code, COALESCE(parent_id, 0) AS parent_id FROM units", []any{}
	if len(req.GetIds()) > 0 {
		query, args, err = sqlx.In(query+" WHERE id IN (?)", req.GetIds())
		if err != nil {
			return nil, s.grpcError(ctx, err)
		}
	}
	var found []struct {
		ID       int64  `db:"id"`
		Name     string `db:"name"`
		Code     string `db:"code"`
		ParentID int64  `db:"parent_id"`
	}
	err = s.router.InTenant(ctx, c.County, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &found, query+fmt.Sprintf(" ORDER BY id LIMIT %d", maxDirectoryFound+1), args...)
	})
	if err != nil {
		return nil, s.grpcError(ctx, fmt.Errorf("list units: %w", err))
	}
	if len(found) > maxDirectoryFound {
		return nil, status.Errorf(codes.InvalidArgument, "the county has more than %d units; name those you need", maxDirectoryFound)
	}
	resp := &pluginv1.UnitsResponse{Units: make([]*pluginv1.DirectoryUnit, 0, len(found))}
	for _, u := range found {
		resp.Units = append(resp.Units, &pluginv1.DirectoryUnit{Id: u.ID, Name: u.Name, Code: u.Code, ParentId: u.ParentID})
	}
	return resp, nil
}

func (s *directory) Accounts(ctx context.Context, req *pluginv1.AccountsRequest) (*pluginv1.AccountsResponse, error) {
	c, err := s.account(req.GetCapability(), "the directory's look-ups")
	if err != nil {
		return nil, err
	}
	if len(req.GetIds()) == 0 && len(req.GetUnitIds()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "name the accounts (ids) or the units (unit_ids) whose accounts to find")
	}
	if err := checkDirectoryIDs("ids", req.GetIds()); err != nil {
		return nil, err
	}
	if err := checkDirectoryIDs("unit_ids", req.GetUnitIds()); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if len(req.GetIds()) > 0 {
		where, args = append(where, "id IN (?)"), append(args, req.GetIds())
	}
	if len(req.GetUnitIds()) > 0 {
		where, args = append(where, "unit_id IN (?)"), append(args, req.GetUnitIds())
	}
	query, args, err := sqlx.In(`SELECT id, unit_id, login, name, COALESCE(mobile, '') <> '' AS has_mobile FROM accounts
WHERE status = 'active' AND (`+strings.Join(where, " OR ")+fmt.Sprintf(") ORDER BY id LIMIT %d", maxDirectoryFound+1), args...)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	var found []struct {
		ID        int64  `db:"id"`
		UnitID    int64  `db:"unit_id"`
		Login     string `db:"login"`
		Name      string `db:"name"`
		HasMobile bool   `db:"has_mobile"`
	}
	err = s.router.InTenant(ctx, c.County, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &found, query, args...)
	})
	if err != nil {
		return nil, s.grpcError(ctx, fmt.Errorf("list accounts: %w", err))
	}
	if len(found) > maxDirectoryFound {
		return nil, status.Errorf(codes.InvalidArgument, "more than %d accounts found; name fewer units", maxDirectoryFound)
	}
	resp := &pluginv1.AccountsResponse{Accounts: make([]*pluginv1.DirectoryAccount, 0, len(found))}
	for _, a := range found {
		resp.Accounts = append(resp.Accounts, &pluginv1.DirectoryAccount{Id: a.ID, UnitId: a.UnitID, Login: a.Login, Name: a.Name, HasMobile: a.HasMobile})
	}
	return resp, nil
}

func checkDirectoryIDs(field string, ids []int64) error {
	if len(ids) > maxDirectoryIDs {
		return status.Errorf(codes.InvalidArgument, "%d %s listed; at most %d", len(ids), field, maxDirectoryIDs)
	}
	for _, id := range ids {
		if id <= 0 {
			return status.Errorf(codes.InvalidArgument, "%s: %d is not an id", field, id)
		}
	}
	return nil
}

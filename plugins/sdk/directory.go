package sdk

import (
	"context"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Unit is a unit (单位, 部门) of the county.
type Unit struct {
	ID   int64
	Name string
	// Code is the unit's code, empty if it has none.
	Code string
	// ParentID is 0 for a unit at the top of the county.
	ParentID int64
}

// Account is an active account of the county.
type Account struct {
	ID     int64
	UnitID int64
	Login  string
	Name   string
	// HasMobile says whether an SMS reminder can reach the account; the
	// number itself stays with the host.
	HasMobile bool
}

// Units returns the county's units with ids (at most 1,000), in order of
// id, leaving out the ids the county does not have (another county's
// too): compare what comes back with what you asked to find the unknown
// ones. With no ids it returns every unit of the county.
func (h *Host) Units(ctx context.Context, ids ...int64) ([]Unit, error) {
	resp, err := h.directory.Units(ctx, &pluginv1.UnitsRequest{Capability: h.capability, Ids: ids})
	if err != nil {
		return nil, hostError(err)
	}
	out := make([]Unit, 0, len(resp.GetUnits()))
	for _, u := range resp.GetUnits() {
		out = append(out, Unit{ID: u.GetId(), Name: u.GetName(), Code: u.GetCode(), ParentID: u.GetParentId()})
	}
	return out, nil
}

// AccountQuery names accounts by id, and by their units; at least one
// of either, at most 1,000 of each.
type AccountQuery struct {
	IDs     []int64
	UnitIDs []int64
}

// Accounts returns the county's active accounts that q names, each once,
// in order of id, leaving out ids that are not an active account of the
// county. At most 10,000 are found (ErrInvalid beyond: name fewer units).
func (h *Host) Accounts(ctx context.Context, q AccountQuery) ([]Account, error) {
	resp, err := h.directory.Accounts(ctx, &pluginv1.AccountsRequest{Capability: h.capability, Ids: q.IDs, UnitIds: q.UnitIDs})
	if err != nil {
		return nil, hostError(err)
	}
	out := make([]Account, 0, len(resp.GetAccounts()))
	for _, a := range resp.GetAccounts() {
		out = append(out, Account{ID: a.GetId(), UnitID: a.GetUnitId(), Login: a.GetLogin(), Name: a.GetName(), HasMobile: a.GetHasMobile()})
	}
	return out, nil
}

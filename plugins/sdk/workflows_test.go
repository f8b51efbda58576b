package sdk_test

import (
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// A task is for the account it names, or else for the holders of its
// role in its unit, as the engine decides (tenants/workflow mayAct);
// nobody else, an operator or an anonymous caller never.
func TestMayActIsTheEnginesRule(t *testing.T) {
	clerk, seven := "clerk", int64(7)
	byRole := sdk.Task{UnitID: 3, Role: &clerk}
	named := sdk.Task{UnitID: 3, Role: &clerk, AccountID: &seven}
	cases := []struct {
		name string
		task sdk.Task
		who  sdk.Caller
		want bool
	}{
		{"a clerk of the unit", byRole, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 9, UnitID: 3, Roles: []string{"clerk"}}, true},
		{"a clerk of another unit", byRole, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 9, UnitID: 4, Roles: []string{"clerk"}}, false},
		{"a leader of the unit", byRole, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 9, UnitID: 3, Roles: []string{"leader"}}, false},
		{"a county admin of the unit", byRole, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 9, UnitID: 3, Roles: []string{"system_admin"}}, false},
		{"the account named", named, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 7, UnitID: 5}, true},
		{"another clerk where one is named", named, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 9, UnitID: 3, Roles: []string{"clerk"}}, false},
		{"an operator", byRole, sdk.Caller{Kind: sdk.CallerOperator, UnitID: 3, Roles: []string{"clerk"}}, false},
		{"anyone", byRole, sdk.Caller{Kind: sdk.CallerAnonymous}, false},
		{"a task without an assignee", sdk.Task{UnitID: 3}, sdk.Caller{Kind: sdk.CallerAccount, AccountID: 9, UnitID: 3, Roles: []string{"clerk"}}, false},
	}
	for _, c := range cases {
		if got := c.task.MayAct(c.who); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

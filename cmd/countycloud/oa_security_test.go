package main

import (
	"testing"

	"github.com/countycloud/countycloud/core/auth"
)

// TestAnOperatorIsNoAccountOfTheCountyToAModule: a module sees an
// operator without an account id or a unit, so that an operator whose id
// among the platform's operators is also an account's id in the county
// reads none of that account's notices and cannot mark them read.
func TestAnOperatorIsNoAccountOfTheCountyToAModule(t *testing.T) {
	t.Parallel()
	p := oaCounties(t)
	operator := p.wyEnv["COUNTYCLOUD_TOKEN"]
	me := decode[auth.Principal](t, call(t, "GET", p.url+"/v1/auth/me", operator, nil))
	r := call(t, "POST", p.wy+"/notices", p.tokens["gbclerk"], map[string]any{"subject": "关于报送材料的通知", "to_account_ids": []int64{me.ID}})
	want(t, "a notice to the account whose id is the operator's", r, 201, "")
	id := decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	want(t, "the operator reads it", call(t, "GET", p.wy+"/notices/"+id, operator, nil), 404, "notice_not_found")
	want(t, "the operator marks it read", call(t, "POST", p.wy+"/notices/"+id+"/read", operator, nil), 404, "notice_not_found")
	r = call(t, "GET", p.wy+"/notices/"+id+"/receipts", p.tokens["gbclerk"], nil)
	if want(t, "the receipts", r, 200, ""); decode[struct {
		Read int `json:"read"`
	}](t, r).Read != 0 {
		t.Fatalf("the operator's reading counted: %s", r.body)
	}
}

package host_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

func TestAModuleFindsTheUnitsAndActiveAccountsOfItsCountyAlone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Lechang has one unit more, so that its last unit's id is none of
	// Wengyuan's.
	w.inTenant(t, lechang, func(ctx context.Context, conn *sqlx.Conn) error {
		_, err := conn.ExecContext(ctx, "INSERT INTO units (name, created_at, updated_at) VALUES ('乐昌县档案局', ?, ?)", time.Now().UTC(), time.Now().UTC())
		return err
	})
	lechangUnit, _ := w.people(t, lechang)
	unit, people := w.people(t, wengyuan)
	w.inTenant(t, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
		_, err := conn.ExecContext(ctx, "UPDATE accounts SET mobile = '13800138000' WHERE id = ?", people[1])
		return err
	})

	status, body := w.call(t, wengyuan, zhang, "POST", "/units", "", []int64{unit, lechangUnit, unit + 1000})
	var units []sdk.Unit
	if status != 200 || json.Unmarshal([]byte(body), &units) != nil {
		t.Fatalf("units = %d %s", status, body)
	}
	if len(units) != 1 || units[0].ID != unit || units[0].Name != "办公室" {
		t.Errorf("units %d, %d (Lechang's), %d (none) = %+v, want Wengyuan's alone", unit, lechangUnit, unit+1000, units)
	}
	status, body = w.call(t, wengyuan, zhang, "POST", "/units", "", []int64{})
	if status != 200 || json.Unmarshal([]byte(body), &units) != nil || len(units) != 1 {
		t.Errorf("every unit of Wengyuan = %d %s", status, body)
	}

	var accounts []sdk.Account
	status, body = w.call(t, wengyuan, zhang, "POST", "/accounts", "", sdk.AccountQuery{UnitIDs: []int64{unit, lechangUnit}, IDs: []int64{people[0], people[2], 99999}})
	if status != 200 || json.Unmarshal([]byte(body), &accounts) != nil {
		t.Fatalf("accounts = %d %s", status, body)
	}
	want := []sdk.Account{{ID: people[0], UnitID: unit, Login: "wang", Name: "人员wang"}, {ID: people[1], UnitID: unit, Login: "li", Name: "人员li", HasMobile: true}}
	if len(accounts) != len(want) || accounts[0] != want[0] || accounts[1] != want[1] {
		t.Errorf("accounts = %+v, want the active ones of Wengyuan's unit, each once: %+v", accounts, want)
	}

	for what, bad := range map[string]struct{ path, body string }{
		"no accounts or units": {"/accounts", `{}`},
		"a zero unit":          {"/accounts", `{"UnitIDs": [0]}`},
		"a negative id":        {"/units", `[-1]`},
		"too many ids":         {"/units", "[" + strings.TrimSuffix(strings.Repeat("1,", 1001), ",") + "]"},
	} {
		if status, body := w.call(t, wengyuan, zhang, "POST", bad.path, "", rawJSON(bad.body)); status != 400 || !strings.HasPrefix(body, "invalid") {
			t.Errorf("%s: %s = %d %s, want invalid", what, bad.path, status, body)
		}
	}

	// The county's staff are not public: a public route's anonymous
	// caller finds no one.
	resp, err := w.p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/units", Body: []byte("[]"), RequestId: "anon-1",
		Caller: &pluginv1.Caller{Kind: "anonymous", Login: "anonymous", Address: "203.0.113.9"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != 400 || !strings.HasPrefix(string(resp.GetBody()), "denied") {
		t.Errorf("an anonymous caller's units = %d %s, want denied", resp.GetStatus(), resp.GetBody())
	}
}

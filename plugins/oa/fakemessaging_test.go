package oa

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// messagingHost is the fake host with the county's accounts and the
// notices the module sent, with the host's semantics: unknown and
// disabled ids are left out. Notify asks sdkfake's failure hook.
type messagingHost struct {
	*fakeHost
	mu       sync.Mutex
	accounts map[int64]sdk.Account
	notices  []sdk.Notice
}

// newMessagingHost gives the fake county units 10 (信息中心), 20 (县政府办), 30
// (民政局), 40 (财政局) and 50 (档案局, nobody in it), and the tests'
// callers' accounts with 5 (li, 30), 6 (zhao, 40) and 7 (qian, 40, with a
// mobile number); account 8 is disabled, so not found.
func newMessagingHost(h *fakeHost) *messagingHost {
	m := &messagingHost{fakeHost: h}
	h.AddUnits(sdk.Unit{ID: 10, Name: "信息中心"}, sdk.Unit{ID: 50, Name: "档案局"})
	m.accounts = map[int64]sdk.Account{}
	for _, a := range []sdk.Account{{ID: 1, UnitID: 10, Login: "admin"}, {ID: 2, UnitID: 20, Login: "ua20"}, {ID: 3, UnitID: 20, Login: "zhangsan"},
		{ID: 4, UnitID: 30, Login: "ua30"}, {ID: 5, UnitID: 30, Login: "li"}, {ID: 6, UnitID: 40, Login: "zhao"}, {ID: 7, UnitID: 40, Login: "qian", HasMobile: true}} {
		a.Name = "人员" + a.Login
		m.accounts[a.ID] = a
	}
	return m
}

func (m *messagingHost) Accounts(_ context.Context, q sdk.AccountQuery) ([]sdk.Account, error) {
	if len(q.IDs) == 0 && len(q.UnitIDs) == 0 {
		return nil, fmt.Errorf("%w: name accounts or units", sdk.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sdk.Account
	for _, id := range slices.Sorted(maps.Keys(m.accounts)) {
		if a := m.accounts[id]; slices.Contains(q.IDs, id) || slices.Contains(q.UnitIDs, a.UnitID) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *messagingHost) Notify(_ context.Context, n sdk.Notice) error {
	if len(n.AccountIDs) == 0 || len(n.AccountIDs) > 1000 || n.Subject == "" {
		return fmt.Errorf("%w: notice %+v", sdk.ErrInvalid, n)
	}
	if err := m.Failure(sdkfake.Call{Method: "Notify"}); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = append(m.notices, n)
	return nil
}

// sent returns the notifications sent so far.
func (m *messagingHost) sent() []sdk.Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.notices)
}

// countedPerUnit sums the measure's counts per unit.
func (h *fakeHost) countedPerUnit(measure string) map[int64]int64 {
	out := map[int64]int64{}
	for _, m := range h.Measures() {
		if m.ID == measure {
			out[m.UnitID] += m.Delta
		}
	}
	return out
}

// msgTester serves requests with the messaging host.
type msgTester struct {
	*tester
	host *messagingHost
}

func newMessagingTester(t *testing.T) *msgTester {
	tt := newTester(t)
	return &msgTester{tester: tt, host: newMessagingHost(tt.host)}
}

// do serves one request and decodes its answer into out, if given.
func (tt *msgTester) do(who sdk.Caller, method, path, query string, body any, out any) int {
	tt.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			tt.t.Fatal(err)
		}
	}
	resp, err := tt.m.serve(context.Background(), &sdk.Request{Method: method, Path: path, Query: query, Body: data, Caller: who, RequestID: "req-1", Settings: tt.settings}, tt.host)
	if err != nil {
		tt.t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			tt.t.Fatalf("%s %s: %v in %s", method, path, err, resp.Body)
		}
	}
	return resp.Status
}

// fails serves a request that must be refused with status and code.
func (tt *msgTester) fails(who sdk.Caller, method, path, query string, body any, status int, code string) {
	tt.t.Helper()
	var e sdk.Refusal
	if got := tt.do(who, method, path, query, body, &e); got != status || e.Error.Code != code || e.Error.Message == "" {
		tt.t.Fatalf("%s %s?%s as %s: %d %+v, want %d %s", method, path, query, who.Login, got, e, status, code)
	}
}

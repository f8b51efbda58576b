package org

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAccountPageJSON holds the hand-written encoder to encoding/json's
// output, byte for byte, for any strings and times.
func FuzzAccountPageJSON(f *testing.F) {
	f.Add("zhangsan", "张三", "13800138000", "", "clerk", int64(1), int64(1700000000123456789), int64(0))
	f.Add("a\"b\\c", "<script>&\u2028\u2029\x00\x1f", "\xff\xfe", "x@y", "", int64(-5), int64(0), int64(7))
	f.Fuzz(func(t *testing.T, login, name, mobile, email, role string, id, nanos, next int64) {
		at := time.Unix(0, nanos).UTC()
		var roles []string
		if role != "" {
			roles = []string{role, role + "2"}
		}
		page := AccountPage{NextAfter: next, Accounts: []Account{
			{ID: id, Login: login, Name: name, UnitID: id / 3, Roles: roles, Mobile: mobile, Email: email, Status: StatusActive, CreatedAt: at, UpdatedAt: at.Add(time.Second)},
			{ID: id + 1, Login: name, Name: login, Roles: []string{}, Status: StatusDisabled},
		}}
		want, err := json.Marshal(page)
		if err != nil {
			return // a time json cannot encode (a year beyond 9999)
		}
		if got := page.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("hand-written JSON differs:\n got %s\nwant %s", got, want)
		}
	})
}

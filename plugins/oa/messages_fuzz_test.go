package oa

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseNoticeInput holds parseNoticeInput to its promises on any
// body: an error, or a notice whose subject, body and recipients are
// within bounds.
func FuzzParseNoticeInput(f *testing.F) {
	f.Add([]byte(`{"subject":"关于开展系统测试的通知","body":"请于周五前完成。","urgency":"加急","to_unit_ids":[30,30],"to_account_ids":[6]}`))
	f.Add([]byte(`{"subject":"测试","all_units":true,"test":true,"sms_reminder":true,"attachments":["a"]}`))
	f.Add([]byte(`{"subject":" x\u0000","to_unit_ids":[0]}`))
	f.Add([]byte(`{"subject":"\u202e通知","to_unit_ids":[3]}`))
	f.Add([]byte(`{"subject":"\u3164","to_unit_ids":[3]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseNoticeInput(body)
		if err != nil {
			return
		}
		checkMessage(t, in.Subject, in.Body)
		if !in.AllUnits && len(in.ToUnitIDs) == 0 && len(in.ToAccountIDs) == 0 {
			t.Fatalf("no recipients in %+v", in)
		}
		checkIDs(t, in.ToUnitIDs)
		checkIDs(t, in.ToAccountIDs)
	})
}

// FuzzParseMailInput does the same for mail.
func FuzzParseMailInput(f *testing.F) {
	f.Add([]byte(`{"to":[5,6],"cc":[6,7],"subject":"材料请查收","body":"附件为本周材料。\r\n谢谢"}`))
	f.Add([]byte(`{"to":[],"subject":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseMailInput(body)
		if err != nil {
			return
		}
		checkMessage(t, in.Subject, in.Body)
		if len(in.To) == 0 {
			t.Fatalf("no recipient in %+v", in)
		}
		checkIDs(t, append(append([]int64{}, in.To...), in.CC...))
	})
}

func checkMessage(t *testing.T, subject, body string) {
	t.Helper()
	if n := utf8.RuneCountInString(subject); !utf8.ValidString(subject) || n == 0 || n > maxSubject || strings.TrimSpace(subject) != subject ||
		strings.IndexFunc(subject, hiddenInLine) >= 0 || strings.IndexFunc(subject, visible) < 0 {
		t.Fatalf("subject %q", subject)
	}
	if !utf8.ValidString(body) || utf8.RuneCountInString(body) > maxMessageBody || strings.Contains(body, "\r\n") {
		t.Fatalf("body %q", body)
	}
}

// checkIDs holds ids positive and distinct.
func checkIDs(t *testing.T, ids []int64) {
	t.Helper()
	seen := map[int64]bool{}
	for _, id := range ids {
		if id <= 0 || seen[id] {
			t.Fatalf("ids %v", ids)
		}
		seen[id] = true
	}
}

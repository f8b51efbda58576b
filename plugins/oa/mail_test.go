package oa

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func TestMailGoesToItsRecipientsAloneWithReadReceipts(t *testing.T) {
	tt := newMessagingTester(t)
	file := tt.attachPDF(clerk(), "材料.pdf", 1000)
	var m mail
	status := tt.do(clerk(), "POST", "/mail", "", map[string]any{"to": []int64{5, 6}, "cc": []int64{6, 7}, "subject": "材料请查收", "body": "附件为本周材料。",
		"attachments": []string{file}}, &m)
	if status != 201 || !slicesEqual(m.To, []int64{5, 6}) || !slicesEqual(m.CC, []int64{7}) || m.FromName != "人员zhangsan" || m.FromUnitID != 20 {
		t.Fatalf("send: %d %+v", status, m)
	}
	if sent := tt.host.sent(); len(sent) != 1 || !slicesEqual(sent[0].AccountIDs, []int64{5, 6, 7}) || sent[0].SMSReminder {
		t.Fatalf("notified %+v", sent)
	}
	for _, who := range []sdk.Caller{li, zhao, qian} {
		var box mailList[mailCopy]
		if status := tt.do(who, "GET", "/mail/inbox", "unread=true", nil, &box); status != 200 || len(box.Mail) != 1 || box.Mail[0].MailID != m.ID {
			t.Fatalf("%s's inbox: %d %+v", who.Login, status, box)
		}
		if box.Mail[0].Field != map[string]string{"li": "to", "zhao": "to", "qian": "cc"}[who.Login] {
			t.Errorf("%s has it as %s", who.Login, box.Mail[0].Field)
		}
	}
	// Mail is personal: another account of the county, the sender's
	// colleague and the county's admin see none of it.
	for _, who := range []sdk.Caller{unitAdmin(), countyAdmin(), otherUnitAdmin(), operator()} {
		tt.fails(who, "GET", "/mail/"+m.ID, "", nil, 404, codeMailNotFound)
		tt.fails(who, "POST", "/mail/"+m.ID+"/read", "", nil, 404, codeMailNotFound)
		tt.fails(who, "GET", "/mail/"+m.ID+"/receipts", "", nil, 404, codeMailNotFound)
		tt.fails(who, "GET", "/mail/"+m.ID+"/attachments/"+file, "", nil, 404, codeMailNotFound)
	}
	tt.fails(li, "GET", "/mail/"+m.ID+"/receipts", "", nil, 404, codeMailNotFound)

	var cp mailCopy
	for range 2 {
		if status := tt.do(li, "POST", "/mail/"+m.ID+"/read", "", nil, &cp); status != 200 || cp.ReadAt == nil {
			t.Fatalf("read: %d %+v", status, cp)
		}
	}
	var v mailView
	if status := tt.do(li, "GET", "/mail/"+m.ID, "", nil, &v); status != 200 || v.Body != "附件为本周材料。" || v.ReadAt == nil {
		t.Fatalf("li reads: %d %+v", status, v)
	}
	var u sdk.SignedURL
	if status := tt.do(qian, "GET", "/mail/"+m.ID+"/attachments/"+file, "", nil, &u); status != 200 || u.URL == "" {
		t.Fatalf("attachment: %d %+v", status, u)
	}
	var r struct {
		Recipients int        `json:"recipients"`
		Read       int        `json:"read"`
		Receipts   []mailCopy `json:"receipts"`
	}
	if status := tt.do(clerk(), "GET", "/mail/"+m.ID+"/receipts", "", nil, &r); status != 200 || r.Recipients != 3 || r.Read != 1 ||
		r.Receipts[0].AccountID != 5 || r.Receipts[0].ReadAt == nil || r.Receipts[1].ReadAt != nil {
		t.Fatalf("receipts: %d %+v", status, r)
	}
	var sent mailList[mail]
	if status := tt.do(clerk(), "GET", "/mail/sent", "", nil, &sent); status != 200 || len(sent.Mail) != 1 {
		t.Fatalf("sent: %d %+v", status, sent)
	}
	if tt.do(unitAdmin(), "GET", "/mail/sent", "", nil, &sent); len(sent.Mail) != 0 {
		t.Fatalf("a colleague's sent mail: %+v", sent)
	}
	if got := tt.host.countedPerUnit(measureMailSent); len(got) != 1 || got[20] != 1 {
		t.Errorf("mail sent: %v", got)
	}
	if got := tt.host.countedPerUnit(measureMailRead); len(got) != 1 || got[30] != 1 {
		t.Errorf("mail read: %v", got)
	}
}

func TestBadMailIsRefusedWithItsCodeAndWritesNothing(t *testing.T) {
	tt := newMessagingTester(t)
	good := func(change map[string]any) map[string]any {
		in := map[string]any{"to": []int64{5}, "subject": "邮件", "body": "正文"}
		for k, v := range change {
			in[k] = v
		}
		return in
	}
	for what, c := range map[string]struct {
		body   any
		status int
		code   string
	}{
		"no recipients":      {good(map[string]any{"to": []int64{}}), 400, codeInvalidMail},
		"only cc":            {good(map[string]any{"to": nil, "cc": []int64{5}}), 400, codeInvalidMail},
		"an unknown account": {good(map[string]any{"to": []int64{5, 999}}), 400, codeUnknownAccount},
		"a disabled cc":      {good(map[string]any{"cc": []int64{8}}), 400, codeUnknownAccount},
		"a body too long":    {good(map[string]any{"body": strings.Repeat("长", maxMessageBody+1)}), 400, codeInvalidMail},
		"no subject":         {good(map[string]any{"subject": ""}), 400, codeInvalidMail},
		"an unknown file":    {good(map[string]any{"attachments": []string{"nofile"}}), 400, codeFileNotFound},
		"an SMS reminder":    {good(map[string]any{"sms_reminder": true}), 403, codeSMSRemindersOff},
		"not JSON":           {"{", 400, codeInvalidJSON},
	} {
		t.Run(what, func(t *testing.T) {
			tt.t = t
			tt.fails(clerk(), "POST", "/mail", "", c.body, c.status, c.code)
		})
	}
	tt.t = t
	tt.fails(operator(), "POST", "/mail", "", good(nil), 403, codeForbidden)
	for _, coll := range []string{collMail, collMailboxes} {
		if n := tt.host.Count(coll); n != 0 {
			t.Errorf("refused mail left %d records in %s", n, coll)
		}
	}
	if n := tt.host.sent(); len(n) != 0 {
		t.Errorf("refused mail notified %+v", n)
	}
	tt.settings = json.RawMessage(`{"sms_reminders": true}`)
	if status := tt.do(clerk(), "POST", "/mail", "", good(map[string]any{"to": []int64{7}, "sms_reminder": true}), nil); status != 201 {
		t.Fatalf("mail with an SMS reminder: %d", status)
	}
	if sent := tt.host.sent(); len(sent) != 1 || !sent[0].SMSReminder {
		t.Fatalf("notified %+v", sent)
	}
}

func TestTheTestingPhaseCountsTestMailEachWay(t *testing.T) {
	tt := newMessagingTester(t)
	// The IT office mails 2 tests to 县政府办 (both its accounts) and 民政局.
	for range 2 {
		if status := tt.do(countyAdmin(), "POST", "/mail", "", map[string]any{"to": []int64{2, 3, 4}, "subject": "测试邮件", "test": true}, nil); status != 201 {
			t.Fatalf("test mail: %d", status)
		}
	}
	var box mailList[mailCopy]
	tt.do(clerk(), "GET", "/mail/inbox", "", nil, &box)
	for _, cp := range box.Mail {
		tt.do(clerk(), "POST", "/mail/"+cp.MailID+"/read", "", nil, nil)
	}
	for range 2 {
		tt.do(unitAdmin(), "POST", "/mail", "", map[string]any{"to": []int64{1}, "subject": "回复测试邮件", "test": true}, nil)
	}
	// Mail within a unit, or not a test, counts nothing.
	tt.do(unitAdmin(), "POST", "/mail", "", map[string]any{"to": []int64{3}, "subject": "同事", "test": true}, nil)
	tt.do(li, "POST", "/mail", "", map[string]any{"to": []int64{1}, "subject": "普通邮件"}, nil)

	tt.fails(clerk(), "GET", "/mail/tests", "", nil, 403, codeForbidden)
	var got struct {
		Required int         `json:"required"`
		Units    []unitTests `json:"units"`
	}
	if status := tt.do(countyAdmin(), "GET", "/mail/tests", "", nil, &got); status != 200 || got.Required != 2 || len(got.Units) != 5 {
		t.Fatalf("tests: %d %+v", status, got)
	}
	want := map[int64]unitTests{
		10: {UnitID: 10, Name: "信息中心", Accounts: 1, Received: 2, Sent: 2},
		20: {UnitID: 20, Name: "县政府办", Accounts: 2, Received: 2, ReceivedRead: 2, Sent: 2, Passed: true},
		30: {UnitID: 30, Name: "民政局", Accounts: 2, Received: 2},
		40: {UnitID: 40, Name: "财政局", Accounts: 2, WithMobile: 1},
		50: {UnitID: 50, Name: "档案局"},
	}
	for _, u := range got.Units {
		if u != want[u.UnitID] {
			t.Errorf("unit %d: %+v, want %+v", u.UnitID, u, want[u.UnitID])
		}
	}
}

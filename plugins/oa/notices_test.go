package oa

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

func account(id, unit int64, login string) sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: login, AccountID: id, UnitID: unit}
}

var (
	li   = account(5, 30, "li")
	zhao = account(6, 40, "zhao")
	qian = account(7, 40, "qian")
)

// attach uploads a PDF of size bytes and returns its file id.
func (tt *msgTester) attachPDF(who sdk.Caller, name string, size int) string {
	tt.t.Helper()
	var u sdk.Upload
	if status := tt.do(who, "POST", "/attachments", "", map[string]any{"name": name, "content_type": "application/pdf", "size": size}, &u); status != 201 || u.FileID == "" || u.URL == "" {
		tt.t.Fatalf("attach %s: %d %+v", name, status, u)
	}
	tt.host.Arrive(tt.t, u.FileID)
	return u.FileID
}

type receiptsView struct {
	Recipients int              `json:"recipients"`
	Read       int              `json:"read"`
	Units      []unitReceipt    `json:"units"`
	Accounts   []accountReceipt `json:"accounts"`
}

func TestANoticeReachesItsUnitsAndAccountsAndTheSenderSeesWhoReadIt(t *testing.T) {
	tt := newMessagingTester(t)
	file := tt.attachPDF(clerk(), "测试方案.pdf", 1<<20)
	var n notice
	status := tt.do(clerk(), "POST", "/notices", "", map[string]any{"subject": "关于开展系统测试的通知", "body": "请各单位于6月10日前完成测试。",
		"urgency": "加急", "to_unit_ids": []int64{30}, "to_account_ids": []int64{6}, "attachments": []string{file}}, &n)
	if status != 201 || n.FromUnitID != 20 || n.FromUnitName != "县政府办" || n.Recipients != 3 || len(n.Attachments) != 1 || n.Attachments[0].Name != "测试方案.pdf" {
		t.Fatalf("send: %d %+v", status, n)
	}
	// The inboxes heard of it, without SMS.
	sent := tt.host.sent()
	if len(sent) != 1 || !slicesEqual(sent[0].AccountIDs, []int64{6, 4, 5}) || sent[0].SMSReminder || !strings.Contains(sent[0].Subject, "关于开展系统测试的通知") {
		t.Fatalf("notified %+v", sent)
	}
	// Each recipient finds it in its list; the sender's colleague and
	// another unit's account do not.
	for _, who := range []sdk.Caller{otherUnitAdmin(), li, zhao} {
		var list noticeList[noticeReceipt]
		if status := tt.do(who, "GET", "/notices/received", "unread=true", nil, &list); status != 200 || len(list.Notices) != 1 || list.Notices[0].NoticeID != n.ID || list.Notices[0].Urgency != "加急" {
			t.Fatalf("%s's notices: %d %+v", who.Login, status, list)
		}
	}
	var none noticeList[noticeReceipt]
	if tt.do(qian, "GET", "/notices/received", "", nil, &none); len(none.Notices) != 0 {
		t.Fatalf("qian, not a recipient, lists %+v", none)
	}
	tt.fails(qian, "GET", "/notices/"+n.ID, "", nil, 404, codeNoticeNotFound)
	tt.fails(qian, "POST", "/notices/"+n.ID+"/read", "", nil, 404, codeNoticeNotFound)
	tt.fails(qian, "GET", "/notices/"+n.ID+"/attachments/"+file, "", nil, 404, codeNoticeNotFound)
	tt.fails(li, "GET", "/notices/"+n.ID+"/receipts", "", nil, 404, codeNoticeNotFound)

	// li reads it twice: one receipt, one count, for unit 30.
	var rc noticeReceipt
	for range 2 {
		if status := tt.do(li, "POST", "/notices/"+n.ID+"/read", "", nil, &rc); status != 200 || rc.ReadAt == nil || !rc.ViaUnit {
			t.Fatalf("read: %d %+v", status, rc)
		}
	}
	tt.now = tt.now.Add(3600e9)
	tt.do(zhao, "POST", "/notices/"+n.ID+"/read", "", nil, &rc)
	var u sdk.SignedURL
	if status := tt.do(zhao, "GET", "/notices/"+n.ID+"/attachments/"+file, "", nil, &u); status != 200 || u.URL == "" {
		t.Fatalf("attachment: %d %+v", status, u)
	}
	var list noticeList[noticeReceipt]
	if tt.do(li, "GET", "/notices/received", "unread=true", nil, &list); len(list.Notices) != 0 {
		t.Fatalf("li's unread after reading: %+v", list)
	}

	// The sending unit sees per unit and per account who read it.
	var r receiptsView
	if status := tt.do(unitAdmin(), "GET", "/notices/"+n.ID+"/receipts", "", nil, &r); status != 200 || r.Recipients != 3 || r.Read != 2 {
		t.Fatalf("receipts: %d %+v", status, r)
	}
	if len(r.Units) != 2 || r.Units[0].UnitID != 30 || r.Units[0].Recipients != 2 || r.Units[0].Read != 1 || r.Units[1].UnitID != 40 || r.Units[1].Read != 1 {
		t.Errorf("per unit: %+v", r.Units)
	}
	if len(r.Accounts) != 3 || r.Accounts[0].AccountID != 4 || r.Accounts[0].ReadAt != nil || r.Accounts[1].ReadAt == nil || !r.Accounts[2].ReadAt.After(*r.Accounts[1].ReadAt) || r.Accounts[2].ViaUnit {
		t.Errorf("per account: %+v", r.Accounts)
	}
	var v noticeView
	if status := tt.do(countyAdmin(), "GET", "/notices/"+n.ID, "", nil, &v); status != 200 || v.Body != "请各单位于6月10日前完成测试。" {
		t.Errorf("the county admin reads it: %d %+v", status, v)
	}
	var sentList noticeList[notice]
	if status := tt.do(clerk(), "GET", "/notices/sent", "", nil, &sentList); status != 200 || len(sentList.Notices) != 1 {
		t.Errorf("sent: %d %+v", status, sentList)
	}
	tt.fails(clerk(), "GET", "/notices/sent", "unit=30", nil, 403, codeForbidden)

	if got := tt.host.countedPerUnit(measureNoticesSent); len(got) != 1 || got[20] != 1 {
		t.Errorf("notices sent: %v", got)
	}
	if got := tt.host.countedPerUnit(measureNoticesRead); len(got) != 2 || got[30] != 1 || got[40] != 1 {
		t.Errorf("notices read: %v", got)
	}
	if a := tt.host.Audits(); len(a) != 1 || a[0].Action != "notice.send" {
		t.Errorf("audits: %+v", a)
	}
}

func slicesEqual(a, b []int64) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestABadNoticeIsRefusedWithItsCodeAndWritesNothing(t *testing.T) {
	tt := newMessagingTester(t)
	good := func(change map[string]any) map[string]any {
		in := map[string]any{"subject": "通知", "body": "正文", "to_unit_ids": []int64{30}}
		for k, v := range change {
			in[k] = v
		}
		return in
	}
	pending := func() string {
		var u sdk.Upload
		tt.do(clerk(), "POST", "/attachments", "", map[string]any{"name": "未传完.pdf", "content_type": "application/pdf", "size": 10}, &u)
		return u.FileID
	}()
	for what, c := range map[string]struct {
		body   any
		status int
		code   string
	}{
		"no recipients":         {good(map[string]any{"to_unit_ids": []int64{}}), 400, codeInvalidNotice},
		"an unknown unit":       {good(map[string]any{"to_unit_ids": []int64{30, 99}}), 400, codeUnknownUnit},
		"an unknown account":    {good(map[string]any{"to_account_ids": []int64{5, 999}}), 400, codeUnknownAccount},
		"a disabled account":    {good(map[string]any{"to_account_ids": []int64{8}}), 400, codeUnknownAccount},
		"a unit with nobody":    {good(map[string]any{"to_unit_ids": []int64{50}}), 400, codeInvalidNotice},
		"a zero id":             {good(map[string]any{"to_unit_ids": []int64{0}}), 400, codeInvalidNotice},
		"no subject":            {good(map[string]any{"subject": "  "}), 400, codeInvalidNotice},
		"a subject too long":    {good(map[string]any{"subject": strings.Repeat("长", 201)}), 400, codeInvalidNotice},
		"a bidi override":       {good(map[string]any{"subject": "\u202e知通"}), 400, codeInvalidNotice},
		"a blank subject":       {good(map[string]any{"subject": "\u3164\u2800"}), 400, codeInvalidNotice},
		"a body too long":       {good(map[string]any{"body": strings.Repeat("长", maxMessageBody+1)}), 400, codeInvalidNotice},
		"a control character":   {good(map[string]any{"body": "a\x00b"}), 400, codeInvalidNotice},
		"an unknown urgency":    {good(map[string]any{"urgency": "火急"}), 400, codeInvalidNotice},
		"all units and a list":  {good(map[string]any{"all_units": true}), 400, codeInvalidNotice},
		"an unknown field":      {good(map[string]any{"colour": "red"}), 400, codeInvalidJSON},
		"an unknown file":       {good(map[string]any{"attachments": []string{"nofile"}}), 400, codeFileNotFound},
		"a file not uploaded":   {good(map[string]any{"attachments": []string{pending}}), 409, codeFileNotReady},
		"a file attached twice": {good(map[string]any{"attachments": []string{pending, pending}}), 400, codeInvalidFile},
		"an SMS reminder":       {good(map[string]any{"sms_reminder": true}), 403, codeSMSRemindersOff},
		"all units by a clerk":  {map[string]any{"subject": "通知", "all_units": true}, 403, codeForbidden},
	} {
		t.Run(what, func(t *testing.T) {
			tt.t = t
			tt.fails(clerk(), "POST", "/notices", "", c.body, c.status, c.code)
		})
	}
	tt.t = t
	// Attachments over the county's limits are refused when declared.
	tt.settings = json.RawMessage(`{"max_attachment_bytes": 1048576, "attachment_types": ["application/pdf"]}`)
	tt.fails(clerk(), "POST", "/attachments", "", map[string]any{"name": "大.pdf", "content_type": "application/pdf", "size": 1048577}, 413, codeFileTooLarge)
	tt.fails(clerk(), "POST", "/attachments", "", map[string]any{"name": "x.exe", "content_type": "application/x-msdownload", "size": 10}, 415, codeFileTypeRefused)
	tt.fails(clerk(), "POST", "/attachments", "", map[string]any{"name": "", "content_type": "application/pdf", "size": 10}, 400, codeInvalidFile)
	tt.fails(operator(), "POST", "/notices", "", good(nil), 403, codeForbidden)
	for _, coll := range []string{collNotices, collNoticeReceipts} {
		if n := tt.host.Count(coll); n != 0 {
			t.Errorf("refused notices left %d records in %s", n, coll)
		}
	}
	if n := tt.host.sent(); len(n) != 0 {
		t.Errorf("refused notices notified %+v", n)
	}
	// A file within the limits once, over them now (the county lowered
	// them), is refused at sending too.
	tt.settings = nil
	big := tt.attachPDF(clerk(), "大.pdf", 2<<20)
	tt.settings = json.RawMessage(`{"max_attachment_bytes": 1048576}`)
	tt.fails(clerk(), "POST", "/notices", "", good(map[string]any{"attachments": []string{big}}), 413, codeFileTooLarge)
	tt.fails(clerk(), "GET", "/notices/received", "unread=yes", nil, 400, codeInvalidQuery)
	tt.fails(clerk(), "GET", "/notices/not-an-id", "", nil, 404, codeNoticeNotFound)
}

func TestAnSMSReminderGoesWhereTheCountyAllowsIt(t *testing.T) {
	tt := newMessagingTester(t)
	tt.settings = json.RawMessage(`{"sms_reminders": true}`)
	if status := tt.do(clerk(), "POST", "/notices", "", map[string]any{"subject": "紧急会议", "urgency": "特急", "to_unit_ids": []int64{40}, "sms_reminder": true}, nil); status != 201 {
		t.Fatalf("send: %d", status)
	}
	if status := tt.do(clerk(), "POST", "/notices", "", map[string]any{"subject": "一般通知", "to_unit_ids": []int64{40}}, nil); status != 201 {
		t.Fatalf("send: %d", status)
	}
	sent := tt.host.sent()
	if len(sent) != 2 || !sent[0].SMSReminder || !strings.HasPrefix(sent[0].Subject, "【特急通知】") || sent[1].SMSReminder {
		t.Fatalf("notified %+v", sent)
	}
}

func TestTheTestingPhaseCountsTestNoticesEachWay(t *testing.T) {
	tt := newMessagingTester(t)
	// The IT office (unit 10, the county admin's) sends 2 test notices to
	// every unit.
	for range 2 {
		var n notice
		if status := tt.do(countyAdmin(), "POST", "/notices", "", map[string]any{"subject": "测试通知", "all_units": true, "test": true}, &n); status != 201 ||
			!slicesEqual(n.ToUnitIDs, []int64{20, 30, 40, 50}) {
			t.Fatalf("test notice to every unit: %d %+v", status, n)
		}
	}
	// 县政府办 reads both and sends 2 back; 民政局 reads one and sends 1.
	var list noticeList[noticeReceipt]
	tt.do(clerk(), "GET", "/notices/received", "", nil, &list)
	for _, rc := range list.Notices {
		tt.do(clerk(), "POST", "/notices/"+rc.NoticeID+"/read", "", nil, nil)
	}
	tt.do(li, "POST", "/notices/"+list.Notices[0].NoticeID+"/read", "", nil, nil)
	for range 2 {
		tt.do(unitAdmin(), "POST", "/notices", "", map[string]any{"subject": "回复测试通知", "to_unit_ids": []int64{10}, "test": true}, nil)
	}
	tt.do(li, "POST", "/notices", "", map[string]any{"subject": "回复测试通知", "to_unit_ids": []int64{10}, "test": true}, nil)
	// A notice that is not a test counts nothing.
	tt.do(li, "POST", "/notices", "", map[string]any{"subject": "普通通知", "to_unit_ids": []int64{10}}, nil)

	tt.fails(clerk(), "GET", "/notices/tests", "", nil, 403, codeForbidden)
	var got struct {
		Required int         `json:"required"`
		Units    []unitTests `json:"units"`
	}
	if status := tt.do(operator(), "GET", "/notices/tests", "", nil, &got); status != 200 || got.Required != 2 || len(got.Units) != 5 {
		t.Fatalf("tests: %d %+v", status, got)
	}
	want := map[int64]unitTests{
		10: {UnitID: 10, Name: "信息中心", Accounts: 1, Received: 3, ReceivedRead: 0, Sent: 2},
		20: {UnitID: 20, Name: "县政府办", Accounts: 2, Received: 2, ReceivedRead: 2, Sent: 2, Passed: true},
		30: {UnitID: 30, Name: "民政局", Accounts: 2, Received: 2, ReceivedRead: 1, Sent: 1},
		40: {UnitID: 40, Name: "财政局", Accounts: 2, WithMobile: 1, Received: 2},
		50: {UnitID: 50, Name: "档案局", Received: 2},
	}
	for _, u := range got.Units {
		if u != want[u.UnitID] {
			t.Errorf("unit %d: %+v, want %+v", u.UnitID, u, want[u.UnitID])
		}
	}
}

func TestASendingThatCannotFinishTakesBackWhatItWrote(t *testing.T) {
	tt := newMessagingTester(t)
	notice := map[string]any{"subject": "通知", "to_unit_ids": []int64{30}, "to_account_ids": []int64{6}}
	mail := map[string]any{"subject": "邮件", "to": []int64{5, 6}}
	busy := fmt.Errorf("%w: the county's calls are at their bound", sdk.ErrBusy)
	empty := func(what string) {
		t.Helper()
		for _, coll := range []string{collNotices, collNoticeReceipts, collMail, collMailboxes} {
			if n := tt.host.Count(coll); n != 0 {
				t.Fatalf("%s left %d records in %s", what, n, coll)
			}
		}
		if len(tt.host.countedPerUnit(measureNoticesSent)) != 0 || len(tt.host.countedPerUnit(measureMailSent)) != 0 {
			t.Fatalf("%s counted a sending", what)
		}
	}
	// The host refuses the second recipient's copy: the first and the
	// notice go, and nobody is notified.
	tt.host.SetFail(sdkfake.FromNth(3, busy, sdkfake.Match("Put", "", "")))
	tt.fails(clerk(), "POST", "/notices", "", notice, 503, codeBusy)
	tt.host.SetFail(sdkfake.FromNth(3, busy, sdkfake.Match("Put", "", "")))
	tt.fails(clerk(), "POST", "/mail", "", mail, 503, codeBusy)
	if n := tt.host.sent(); len(n) != 0 {
		t.Fatalf("notified %+v", n)
	}
	empty("a failed put")
	// The inboxes cannot be told: nothing stays either.
	tt.host.SetFail(sdkfake.FromNth(1, busy, sdkfake.Match("Notify", "", "")))
	tt.fails(clerk(), "POST", "/notices", "", notice, 503, codeBusy)
	tt.fails(clerk(), "POST", "/mail", "", mail, 503, codeBusy)
	empty("a failed notification")
	// Sent again once the host is well, each is there once.
	tt.host.SetFail(nil)
	if tt.do(clerk(), "POST", "/notices", "", notice, nil) != 201 || tt.do(clerk(), "POST", "/mail", "", mail, nil) != 201 {
		t.Fatal("sending again failed")
	}
	if tt.host.Count(collNotices) != 1 || tt.host.Count(collNoticeReceipts) != 3 || tt.host.Count(collMail) != 1 || tt.host.Count(collMailboxes) != 2 {
		t.Fatal("sending again did not write each once")
	}
}

// Only whoever uploaded a file attaches it: a file id is in every URL of
// the file, so another account that learns one (a recipient, a former
// colleague) must not send it on, and download it afresh, as its own.
func TestOnlyItsUploaderAttachesAFile(t *testing.T) {
	tt := newMessagingTester(t)
	file := tt.attachPDF(clerk(), "内部材料.pdf", 1024)
	tt.fails(li, "POST", "/notices", "", map[string]any{"subject": "转发材料", "to_account_ids": []int64{6}, "attachments": []string{file}}, 400, codeFileNotFound)
	tt.fails(li, "POST", "/mail", "", map[string]any{"subject": "转发材料", "to": []int64{6}, "attachments": []string{file}}, 400, codeFileNotFound)
	var n notice
	if status := tt.do(clerk(), "POST", "/notices", "", map[string]any{"subject": "材料", "to_account_ids": []int64{6}, "attachments": []string{file}}, &n); status != 201 {
		t.Fatalf("its uploader attaches it: %d", status)
	}
}

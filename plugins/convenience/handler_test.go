package convenience

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The county of these tests: 1 县信息中心 (the IT office), 2 县信访局, 3
// 民政局, 4 住建局, 5 县监察局 (the supervising unit); complaints go to
// 民政局 by rule.
const testSettings = `{"it_office_unit_id": 1, "letters_unit_id": 2, "supervising_unit_id": 5, "routes": {"投诉": 3}}`

// beforeTheRules are testSettings before the county gave its rules: a
// message left then waits for the IT office.
const beforeTheRules = `{"it_office_unit_id": 1, "letters_unit_id": 2, "supervising_unit_id": 5}`

var (
	citizen    = sdk.Caller{Kind: sdk.CallerAnonymous, Login: "anonymous", Address: "203.0.113.9"}
	office     = sdk.Caller{Kind: sdk.CallerAccount, Login: "xxzx", AccountID: 11, UnitID: 1, Roles: []string{"clerk"}}
	letters    = sdk.Caller{Kind: sdk.CallerAccount, Login: "xfj", AccountID: 21, UnitID: 2, Roles: []string{"clerk"}}
	mzClerk    = sdk.Caller{Kind: sdk.CallerAccount, Login: "mzclerk", AccountID: 31, UnitID: 3, Roles: []string{"clerk"}}
	zjClerk    = sdk.Caller{Kind: sdk.CallerAccount, Login: "zjclerk", AccountID: 41, UnitID: 4, Roles: []string{"clerk"}}
	supervisor = sdk.Caller{Kind: sdk.CallerAccount, Login: "jcj", AccountID: 51, UnitID: 5, Roles: []string{"supervisor"}}
)

// harness runs the module against a fake host with a clock it moves.
type harness struct {
	t    *testing.T
	host *fakeHost
	mod  *module
	now  time.Time
	// settings are the county's, testSettings unless a test changes
	// them.
	settings string
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, now: time.Date(2026, 6, 1, 9, 0, 0, 0, china), settings: testSettings}
	h.host = newFakeHost(func() time.Time { return h.now })
	h.mod = &module{now: func() time.Time { return h.now }, log: hclog.NewNullLogger()}
	return h
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (h *harness) do(who sdk.Caller, method, target string, body any) answer {
	h.t.Helper()
	path, query, _ := strings.Cut(target, "?")
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	h.host.caller = who
	resp, err := h.mod.serve(context.Background(), &sdk.Request{Method: method, Path: path, Query: query, Body: raw, Caller: who,
		Settings: json.RawMessage(h.settings), RequestID: "req"}, h.host)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	a := answer{status: resp.Status, raw: string(resp.Body)}
	if len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, &a.body); err != nil {
			h.t.Fatalf("%s %s: %s", method, target, resp.Body)
		}
	}
	return a
}

func (h *harness) want(what string, a answer, status int, code string) answer {
	h.t.Helper()
	if a.status != status || a.code() != code {
		h.t.Fatalf("%s: %d %s, want %d %q", what, a.status, a.raw, status, code)
	}
	return a
}

// leave leaves a message as a citizen, before the county had its rules
// (testSettings without routes), so that it waits for the IT office to
// route it, and answers its receipt's number and code.
func (h *harness) leave(category string, publishable bool) (string, string) {
	h.t.Helper()
	settings := h.settings
	h.settings = beforeTheRules
	defer func() { h.settings = settings }()
	a := h.want("leave a message", h.do(citizen, "POST", "/public/messages", map[string]any{"category": category,
		"content": "我叫王小明，电话13812345678，住城关镇人民路12号3栋501室，身份证440229199001011234，低保申请三个月没有答复。",
		"contact": map[string]any{"name": "王小明", "phone": "138-1234-5678", "address": "人民路12号"}, "publishable": publishable}), 201, "")
	r := a.body["receipt"].(map[string]any)
	return r["number"].(string), r["code"].(string)
}

// follow is the citizen's query of their message with its receipt.
func (h *harness) follow(number, code string) answer {
	h.t.Helper()
	return h.do(citizen, "POST", "/public/messages/"+number+"/query", map[string]any{"code": code})
}

// onlyMessage is the id of the one message the county has.
func (h *harness) onlyMessage() string {
	h.t.Helper()
	page := h.want("the office's list", h.do(office, "GET", "/messages", nil), 200, "").body["messages"].([]any)
	if len(page) != 1 {
		h.t.Fatalf("%d messages", len(page))
	}
	return page[0].(map[string]any)["id"].(string)
}

// A citizen's message from its receipt to its rating: routed by rule,
// replied to late, returned, replied again, accepted and published
// masked, rated unsatisfied and so reopened; the measures count each
// thing once for 民政局, and the oversight report says it all.
func TestAMessageIsRoutedAnsweredLatePublishedAndRated(t *testing.T) {
	h := newHarness(t)
	number, code := h.leave("投诉", true)
	id := h.onlyMessage()

	wrongCode := h.follow(number, "AAAA-BBBB-CCCC-DDDD")
	unknown := h.follow("2026-999999", code)
	h.want("a wrong code", wrongCode, 404, codeReceiptNotFound)
	if wrongCode.raw != unknown.raw {
		t.Errorf("a wrong code %s and an unknown number %s are told apart", wrongCode.raw, unknown.raw)
	}
	// The code travels in the body alone: the URL, which proxies log and
	// browsers keep, never holds it.
	h.want("the code in the URL", h.do(citizen, "POST", "/public/messages/"+number+"/query?code="+url.QueryEscape(code), map[string]any{"code": code}), 400, codeInvalidQuery)
	h.want("the old GET", h.do(citizen, "GET", "/public/messages/"+number+"?code="+url.QueryEscape(code), nil), 404, codeRouteNotFound)
	h.want("a GET of the query", h.do(citizen, "GET", "/public/messages/"+number+"/query", nil), 405, codeMethodNotAllowed)
	h.want("no body", h.do(citizen, "POST", "/public/messages/"+number+"/query", nil), 400, codeInvalidJSON)
	h.want("another field", h.do(citizen, "POST", "/public/messages/"+number+"/query", map[string]any{"code": code, "number": number}), 400, codeInvalidJSON)
	h.want("the code not a string", h.do(citizen, "POST", "/public/messages/"+number+"/query", `{"code": 1234}`), 400, codeInvalidJSON)
	follow := h.want("follow", h.follow(number, code), 200, "")
	if follow.body["status_label"] != "已受理" {
		t.Errorf("follow: %s", follow.raw)
	}

	// Routing: the IT office's, by the county's rule for 投诉.
	h.want("routed by 民政局", h.do(mzClerk, "POST", "/messages/"+id+"/route", map[string]any{}), 403, codeForbidden)
	h.want("routed by the supervising unit", h.do(supervisor, "POST", "/messages/"+id+"/route", map[string]any{}), 403, codeForbidden)
	h.want("routed to a unit the county lacks", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{"unit_id": 99}), 400, codeUnknownUnit)
	if m := h.message(id); m.Status != statusNew || m.UnitID != 0 {
		t.Fatalf("a refused route left the message %+v", m)
	}
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("route again", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{"unit_id": 4}), 409, codeIllegalTransition)
	if m := h.message(id); m.Status != statusRouted || m.UnitID != 3 || m.InstanceID != 1 || m.DueAt == nil {
		t.Fatalf("routed: %+v", m)
	}

	// Who sees it: 民政局, the IT office, 信访局; not 住建局.
	h.want("住建局 reads it", h.do(zjClerk, "GET", "/messages/"+id, nil), 404, codeMessageNotFound)
	h.want("住建局 replies", h.do(zjClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "已转交相关部门处理。"}), 404, codeMessageNotFound)
	h.want("信访局 reads it", h.do(letters, "GET", "/messages/"+id, nil), 200, "")
	h.want("民政局 reads it", h.do(mzClerk, "GET", "/messages/"+id, nil), 200, "")
	if got := h.do(zjClerk, "GET", "/messages", nil).body["messages"].([]any); len(got) != 0 {
		t.Errorf("住建局 lists %d messages", len(got))
	}
	h.want("住建局 lists 民政局's", h.do(zjClerk, "GET", "/messages?unit_id=3", nil), 403, codeForbidden)
	h.want("the IT office replies", h.do(office, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "已转交相关部门处理。"}), 403, codeNotYourTask)
	h.want("a reply too short", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "好"}), 400, codeInvalidReply)

	// Six days on, past the five working days: the reply is late.
	h.now = h.now.Add(6 * 24 * time.Hour)
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，经核查王小明同志的低保申请材料不全。"}), 200, "")
	h.want("民政局 reviews its own reply", h.do(mzClerk, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 403, codeNotYourTask)
	h.want("return without a reason", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "return"}), 400, codeInvalidReply)
	h.want("return", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "return", "reason": "请说明补充哪些材料"}), 200, "")
	if m := h.message(id); m.Status != statusRouted || len(m.Returns) != 1 || m.Reply != "" || !m.Late {
		t.Fatalf("returned: %+v", m)
	}
	h.want("reply again", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，请王小明同志补充户口簿复印件，联系电话0751-2812345。"}), 200, "")
	h.want("accept", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 200, "")
	h.want("accept again", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 409, codeIllegalTransition)

	// Published, masked.
	list := h.want("the public list", h.do(citizen, "GET", "/public/replies", nil), 200, "")
	replies := list.body["replies"].([]any)
	if len(replies) != 1 {
		t.Fatalf("public list: %s", list.raw)
	}
	for _, secret := range []string{"王小明", "13812345678", "1234-5678", "440229199001011234", "12号", "501室", "2812345", "contact", "人民路12号"} {
		if strings.Contains(list.raw, secret) {
			t.Errorf("the public list shows %q: %s", secret, list.raw)
		}
	}
	if r := replies[0].(map[string]any); r["unit_name"] != "民政局" || !strings.Contains(r["content"].(string), "低保申请三个月没有答复") {
		t.Errorf("published: %v", r)
	}

	// Rated once; 不满意 reopens it.
	h.want("rate with a wrong code", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": "WRONG", "rating": "满意"}), 404, codeReceiptNotFound)
	h.want("a rating that is none", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "很好"}), 400, codeInvalidRating)
	h.want("rate", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "不满意"}), 200, "")
	h.want("rate twice", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "满意"}), 409, codeAlreadyRated)
	if m := h.message(id); m.Rating != "不满意" || !m.Reopened {
		t.Fatalf("rated: %+v", m)
	}
	for _, q := range []string{"reopened=true", "number=" + number, "reopened=true&unit_id=3&status=answered"} {
		if got := h.want("list "+q, h.do(office, "GET", "/messages?"+q, nil), 200, "").body["messages"].([]any); len(got) != 1 {
			t.Errorf("%s lists %d", q, len(got))
		}
	}
	h.want("reopened=yes", h.do(office, "GET", "/messages?reopened=yes", nil), 400, codeInvalidQuery)
	if got := h.do(mzClerk, "GET", "/messages?reopened=true", nil).body["messages"].([]any); len(got) != 1 {
		t.Errorf("民政局 lists %d reopened", len(got))
	}
	if got := h.do(zjClerk, "GET", "/messages?number="+number, nil).body["messages"].([]any); len(got) != 0 {
		t.Errorf("住建局 finds 民政局's message by its number")
	}

	// The measures: each once, for 民政局.
	want := map[string]int{measureReceived + " 3": 1, measureAnswered + " 3": 1, measureAnsweredLate + " 3": 1,
		measureRatedUnsatisfied + " 3": 1, measureReopened + " 3": 1}
	if got := h.host.figures(); !maps.Equal(got, want) {
		t.Errorf("measures %v, want %v", got, want)
	}

	// The oversight report: the IT office's and the supervising unit's.
	h.want("oversight by 民政局", h.do(mzClerk, "GET", "/oversight?from=2026-06-01&to=2026-06-30", nil), 403, codeForbidden)
	h.want("oversight by 信访局", h.do(letters, "GET", "/oversight?from=2026-06-01&to=2026-06-30", nil), 403, codeForbidden)
	h.want("oversight backwards", h.do(office, "GET", "/oversight?from=2026-06-30&to=2026-06-01", nil), 400, codeInvalidQuery)
	rep := h.want("oversight", h.do(supervisor, "GET", "/oversight?from=2026-06-01&to=2026-06-30", nil), 200, "")
	var r Report
	if err := json.Unmarshal([]byte(rep.raw), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Units) != 1 || r.Units[0].UnitName != "民政局" || r.Units[0].Received != 1 || r.Units[0].AnsweredLate != 1 ||
		r.Units[0].Unsatisfied != 1 || r.Units[0].Satisfaction == nil || *r.Units[0].Satisfaction != 0 || len(r.Reopened) != 1 || r.Reopened[0].Number != number {
		t.Errorf("oversight: %s", rep.raw)
	}
	if other := h.want("another period", h.do(office, "GET", "/oversight?from=2026-07-01&to=2026-07-31", nil), 200, ""); len(other.body["units"].([]any)) != 0 {
		t.Errorf("July: %s", other.raw)
	}
}

func (h *harness) message(id string) message {
	h.t.Helper()
	rec, err := h.host.Get(context.Background(), collMessages, id)
	if err != nil {
		h.t.Fatal(err)
	}
	var m message
	if err := json.Unmarshal(rec.Document, &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

// Bad messages are refused with invalid_message or invalid_json, naming
// what is wrong, and nothing is kept.
func TestBadMessagesAreRefusedAndNothingIsKept(t *testing.T) {
	h := newHarness(t)
	good := func() map[string]any {
		return map[string]any{"category": "咨询", "content": "请问办理居住证需要哪些材料？", "contact": map[string]any{"name": "李雷", "phone": "13800138000"}}
	}
	cases := map[string]struct {
		body any
		code string
		says string
	}{
		"not JSON":          {"{", codeInvalidJSON, ""},
		"an unknown field":  {`{"category":"咨询","content":"请问办理居住证需要哪些材料？","contact":{"name":"李雷","phone":"13800138000"},"secret":1}`, codeInvalidJSON, ""},
		"a category":        {with(good(), "category", "表扬"), codeInvalidMessage, "category"},
		"content too short": {with(good(), "content", "  你好 "), codeInvalidMessage, "content"},
		"content too long":  {with(good(), "content", strings.Repeat("长", 2001)), codeInvalidMessage, "content"},
		"control chars":     {with(good(), "content", "请问办理居住证\x07需要哪些材料"), codeInvalidMessage, "control"},
		"no contact":        {with(good(), "contact", map[string]any{"name": "李雷"}), codeInvalidMessage, "contact.phone or contact.email"},
		"a bad phone":       {with(good(), "contact", map[string]any{"name": "李雷", "phone": "call me"}), codeInvalidMessage, "contact.phone"},
		"a bad email":       {with(good(), "contact", map[string]any{"name": "李雷", "email": "li@"}), codeInvalidMessage, "contact.email"},
		"a name of digits":  {with(good(), "contact", map[string]any{"name": "12345", "phone": "13800138000"}), codeInvalidMessage, "contact.name"},
	}
	for name, c := range cases {
		a := h.want(name, h.do(citizen, "POST", "/public/messages", c.body), 400, c.code)
		if !strings.Contains(a.raw, c.says) {
			t.Errorf("%s: %s does not say %q", name, a.raw, c.says)
		}
	}
	h.want("a query on the submission", h.do(citizen, "POST", "/public/messages?x=1", good()), 400, codeInvalidQuery)
	if n, r := h.host.Count(collMessages), len(h.host.Receipts()); n != 0 || r != 0 {
		t.Errorf("%d messages and %d receipts kept", n, r)
	}
	h.want("a good one", h.do(citizen, "POST", "/public/messages", good()), 201, "")
}

func with(m map[string]any, key string, v any) map[string]any {
	m[key] = v
	return m
}

// What a message's state does not allow is refused, and changes nothing:
// a reply asked to be published the citizen did not allow, a rating
// before the answer, a route with no rule, a refused action.
func TestWhatTheStateDoesNotAllowIsRefused(t *testing.T) {
	h := newHarness(t)
	number, code := h.leave("咨询", false)
	id := h.onlyMessage()
	h.want("rate before the answer", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "满意"}), 409, codeNotAnswered)
	h.want("reply before the route", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已收到您的咨询。"}), 404, codeMessageNotFound)
	h.want("route with no rule for 咨询", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 409, codeNoRouteRule)
	h.want("route to 民政局", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{"unit_id": 3}), 200, "")
	h.host.failNext("ActOnTaskWith", sdk.ErrBusy)
	h.want("a reply the host is too busy for", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已收到您的咨询。"}), 503, codeBusy)
	if m := h.message(id); m.Status != statusRouted || m.RepliedAt != nil {
		t.Fatalf("a refused reply left %+v", m)
	}
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已收到您的咨询。"}), 200, "")
	h.want("publish what may not be", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 409, codePublishNotAllowed)
	h.host.failNext("ActOnTaskWith", sdk.ErrBusy)
	h.want("an accept the host is too busy for", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 503, codeBusy)
	h.want("accept", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 200, "")
	if h.host.Count(collPublished) != 0 {
		t.Errorf("a reply the citizen kept private was published")
	}
	if m := h.message(id); m.Late {
		t.Errorf("a reply on time is late: %+v", m)
	}
	h.want("rate", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "满意"}), 200, "")
	if got := h.host.figures(); got[measureAnsweredLate+" 3"] != 0 || got[measureRatedSatisfied+" 3"] != 1 || got[measureReopened+" 3"] != 0 {
		t.Errorf("measures %v", got)
	}
}

// A failed publication takes nothing away: the accept is refused with the
// published reply taken back, and the task stays open.
func TestARefusedAcceptLeavesNothingPublished(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")
	h.host.failNext("ActOnTaskWith", sdk.ErrConflict)
	h.want("an accept someone else did first", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 409, codeIllegalTransition)
	if n := h.host.Count(collPublished); n != 0 {
		t.Errorf("%d replies published by a refused accept", n)
	}
	if m := h.message(id); m.Status != statusReplied || m.PublishedID != "" {
		t.Errorf("a refused accept left %+v", m)
	}
}

// Routes, methods and who reaches what without a token.
func TestRoutesAndAnonymousCallers(t *testing.T) {
	h := newHarness(t)
	h.want("no such route", h.do(office, "GET", "/nothing", nil), 404, codeRouteNotFound)
	h.want("a wrong method", h.do(office, "DELETE", "/messages", nil), 405, codeMethodNotAllowed)
	h.want("an anonymous list", h.do(citizen, "GET", "/messages", nil), 403, codeForbidden)
	h.want("an anonymous oversight", h.do(citizen, "GET", "/oversight?from=2026-06-01&to=2026-06-02", nil), 403, codeForbidden)
	h.want("a bad page", h.do(citizen, "GET", "/public/replies?limit=1000", nil), 400, codeInvalidQuery)
	h.want("a bad after", h.do(citizen, "GET", "/public/replies?after=x", nil), 400, codeInvalidQuery)
	h.want("a status that is none", h.do(office, "GET", "/messages?status=lost", nil), 400, codeInvalidQuery)
}

// A reply whose task was done but whose message the host failed to mark
// is finished by its retry, late as its task was; anyone else's retry is
// refused.
func TestARetriedReplyFinishesWhatAFailedOneLeft(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.now = h.now.Add(6 * 24 * time.Hour)
	// The draft's Put succeeds; the one marking it replied fails.
	h.host.failNextPut(collMessages, id, 1)
	h.host.caller = mzClerk
	reply := map[string]any{"reply": "您好，已核实处理。"}
	if resp, err := h.mod.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/messages/" + id + "/reply", Body: []byte(`{"reply":"您好，已核实处理。"}`),
		Caller: mzClerk, Settings: json.RawMessage(testSettings)}, h.host); err == nil {
		t.Fatalf("a reply the host failed to keep: %d %s", resp.Status, resp.Body)
	}
	if m := h.message(id); m.Status != statusRouted {
		t.Fatalf("the failed reply left %+v", m)
	}
	other := mzClerk
	other.AccountID, other.Login = 32, "mzclerk2"
	h.want("another clerk's retry", h.do(other, "POST", "/messages/"+id+"/reply", reply), 409, codeIllegalTransition)
	h.want("the retry", h.do(mzClerk, "POST", "/messages/"+id+"/reply", reply), 200, "")
	if m := h.message(id); m.Status != statusReplied || !m.Late || m.Reply != "您好，已核实处理。" {
		t.Fatalf("the retry left %+v", m)
	}
	h.want("accept", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 200, "")
}

// The province's operators read messages and the oversight report
// (support) but route, reply and review nothing.
func TestOperatorsReadButDoNotAct(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	op := sdk.Caller{Kind: sdk.CallerOperator, Login: "op", Roles: []string{"operator"}}
	h.want("an operator lists", h.do(op, "GET", "/messages", nil), 200, "")
	h.want("an operator reads", h.do(op, "GET", "/messages/"+id, nil), 200, "")
	h.want("an operator's oversight", h.do(op, "GET", "/oversight?from=2026-06-01&to=2026-06-30", nil), 200, "")
	h.want("an operator routes", h.do(op, "POST", "/messages/"+id+"/route", map[string]any{"unit_id": 3}), 403, codeForbidden)
	h.want("the office routes", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{"unit_id": 3}), 200, "")
	h.want("an operator replies", h.do(op, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 403, codeNotYourTask)
}

// The IT office routes every new message a rule covers at once, oldest
// first; the others stay new, unread.
func TestRouteByRule(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	h.now = h.now.Add(time.Minute)
	h.leave("咨询", false)
	h.now = h.now.Add(time.Minute)
	h.leave("投诉", false)
	h.want("by 民政局", h.do(mzClerk, "POST", "/messages/route-by-rule", nil), 403, codeForbidden)
	h.want("with a body of fields", h.do(office, "POST", "/messages/route-by-rule", map[string]any{"unit_id": 3}), 400, codeInvalidJSON)
	a := h.want("route by rule", h.do(office, "POST", "/messages/route-by-rule", nil), 200, "")
	routed, left := a.body["routed"].([]any), a.body["left"].([]any)
	if len(routed) != 2 || len(left) != 0 || a.body["more"] != false {
		t.Fatalf("route by rule: %s", a.raw)
	}
	first := routed[0].(map[string]any)["id"].(string)
	if m := h.message(first); m.Status != statusRouted || m.UnitID != 3 || m.InstanceID != 1 || !strings.HasPrefix(m.SubmittedAt.Format(time.RFC3339), "2026-06-01T01:00") {
		t.Errorf("the oldest was not routed first: %+v", m)
	}
	if again := h.want("again", h.do(office, "POST", "/messages/route-by-rule", map[string]any{}), 200, ""); len(again.body["routed"].([]any)) != 0 {
		t.Errorf("routed twice: %s", again.raw)
	}
	if got := h.host.figures()[measureReceived+" 3"]; got != 2 {
		t.Errorf("received %d", got)
	}
	if n := len(h.want("the new", h.do(office, "GET", "/messages?status=new", nil), 200, "").body["messages"].([]any)); n != 1 {
		t.Errorf("%d new messages, want the enquiry no rule routes", n)
	}
}

// The oversight report and route-by-rule read the messages of the
// period and the new ones a rule routes: the records they read beside
// the 300 messages of a county's January, half of them routed and
// answered, half waiting with no rule, are the records they read
// without them. Route-by-rule drains January's 150, 50 a call, the
// oldest first.
func TestOversightAndRouteByRuleReadNoHistory(t *testing.T) {
	reads := func(history int) (routing, report int) {
		h := newHarness(t)
		h.now = time.Date(2026, 1, 5, 9, 0, 0, 0, china)
		for i := range history {
			h.leave([]string{"投诉", "咨询"}[i%2], false)
			h.now = h.now.Add(time.Minute)
		}
		var last string
		for calls := 1; ; calls++ {
			a := h.want("route January", h.do(office, "POST", "/messages/route-by-rule", nil), 200, "")
			for _, r := range a.body["routed"].([]any) {
				id := r.(map[string]any)["id"].(string)
				if last != "" && id > last {
					t.Fatalf("route-by-rule routed %s after the older %s", id, last)
				}
				last = id
			}
			if a.body["more"] != true {
				if want := max(1, (history/2+maxRoutedByRule-1)/maxRoutedByRule); calls != want {
					t.Errorf("%d calls routed %d, want %d", calls, history/2, want)
				}
				break
			}
		}
		h.now = time.Date(2026, 6, 1, 9, 0, 0, 0, china)
		for range 3 {
			h.leave("投诉", false)
			h.leave("咨询", false)
			h.now = h.now.Add(time.Minute)
		}
		clear(h.host.reads)
		if a := h.want("route June", h.do(office, "POST", "/messages/route-by-rule", nil), 200, ""); len(a.body["routed"].([]any)) != 3 {
			t.Fatalf("route June: %s", a.raw)
		}
		routing = h.host.reads[collMessages]
		clear(h.host.reads)
		rep := h.want("June's report", h.do(office, "GET", "/oversight?from=2026-06-01&to=2026-06-30", nil), 200, "")
		if total := rep.body["total"].(map[string]any); total["received"] != 3.0 || rep.body["unrouted"] != 3.0 {
			t.Fatalf("June's report: %s", rep.raw)
		}
		return routing, h.host.reads[collMessages]
	}
	routing, report := reads(0)
	routingAfter, reportAfter := reads(300)
	if routingAfter != routing || reportAfter != report {
		t.Errorf("beside 300 messages of January, route-by-rule read %d records (%d without) and the report %d (%d without)", routingAfter, routing, reportAfter, report)
	}
	t.Logf("June's route-by-rule read %d records, June's report %d, with or without January's 300", routing, report)
}

// A submission the host refuses keeps nothing: no message, no receipt.
func TestARefusedSubmissionKeepsNothing(t *testing.T) {
	h := newHarness(t)
	h.host.failNext("Submit", errors.New("the host is gone"))
	h.host.caller = citizen
	resp, err := h.mod.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/public/messages", Caller: citizen, Settings: json.RawMessage(testSettings),
		Body: []byte(`{"category":"咨询","content":"请问办理居住证需要哪些材料？","contact":{"name":"李雷","phone":"13800138000"}}`)}, h.host)
	if err == nil {
		t.Fatalf("a message the host refused: %d %s", resp.Status, resp.Body)
	}
	if n, r := h.host.Count(collMessages), len(h.host.Receipts()); n != 0 || r != 0 {
		t.Fatalf("%d messages and %d receipts kept", n, r)
	}
}

// A complaint, which the county's rule routes to 民政局, is routed as the
// citizen leaves it: one submission to the host starts its workflow for
// 民政局 from the IT office, whose clerks then review the reply; it is
// counted received once, and route-by-rule leaves it be. An enquiry no
// rule routes, a complaint whose unit no one can act in, and one in a
// county whose settings name no IT office wait for the IT office.
func TestARuledMessageIsRoutedAsItIsLeft(t *testing.T) {
	h := newHarness(t)
	a := h.want("leave a complaint", h.do(citizen, "POST", "/public/messages", map[string]any{"category": "投诉",
		"content": "小区门口路灯坏了一个月。", "contact": map[string]any{"name": "李雷", "phone": "13800138000"}, "publishable": true}), 201, "")
	if m := a.body["message"].(map[string]any); m["status"] != statusRouted {
		t.Fatalf("the citizen is told %s", a.raw)
	}
	id := h.onlyMessage()
	m := h.message(id)
	if m.Status != statusRouted || m.UnitID != 3 || m.InstanceID != 1 || m.DueAt == nil || m.Number == "" || m.RoutedMonth != "2026-06" {
		t.Fatalf("the complaint as left: %+v", m)
	}
	if in := h.host.instances[0]; in.SubjectUnitID != 3 || in.InitiatorUnitID != 1 || in.InitiatorID != 0 {
		t.Errorf("its instance: %+v", in)
	}
	h.want("routed again", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 409, codeIllegalTransition)
	if r := h.want("route by rule", h.do(office, "POST", "/messages/route-by-rule", nil), 200, ""); len(r.body["routed"].([]any)) != 0 {
		t.Errorf("route-by-rule routed it again: %s", r.raw)
	}
	h.want("住建局 replies", h.do(zjClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已安排维修。"}), 404, codeMessageNotFound)
	h.want("the IT office replies", h.do(office, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已安排维修。"}), 403, codeNotYourTask)
	h.want("民政局 replies", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已安排维修。"}), 200, "")
	h.want("民政局 reviews", h.do(mzClerk, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 403, codeNotYourTask)
	h.want("the IT office reviews", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 200, "")
	if got := h.host.figures()[measureReceived+" 3"]; got != 1 {
		t.Errorf("received %d", got)
	}
	rep := h.want("the report", h.do(office, "GET", "/oversight?from=2026-06-01&to=2026-06-30", nil), 200, "")
	if total := rep.body["total"].(map[string]any); total["received"] != 1.0 || total["answered"] != 1.0 || rep.body["unrouted"] != 0.0 {
		t.Errorf("the report: %s", rep.raw)
	}

	waits := func(what, settings, category string) {
		t.Helper()
		h := newHarness(t)
		h.host.unstaffed[4] = true
		h.settings = settings
		a := h.want(what, h.do(citizen, "POST", "/public/messages", map[string]any{"category": category,
			"content": "小区门口路灯坏了一个月。", "contact": map[string]any{"name": "李雷", "phone": "13800138000"}}), 201, "")
		ids := h.host.ids(collMessages)
		if len(ids) != 1 {
			t.Fatalf("%s: %d messages", what, len(ids))
		}
		if m := h.message(ids[0]); m.Status != statusNew || m.UnitID != 0 || m.InstanceID != 0 || m.Number == "" || len(h.host.instances) != 0 {
			t.Errorf("%s: %+v, %s", what, m, a.raw)
		}
	}
	waits("an enquiry", testSettings, "咨询")
	waits("a complaint to a unit where no one acts", `{"it_office_unit_id": 1, "routes": {"投诉": 4}}`, "投诉")
	waits("a complaint in a county without an IT office", `{"routes": {"投诉": 3}}`, "投诉")
}

// A review whose task was done but whose message the host failed to mark
// is finished by the same clerk's retry of the same decision, published
// once and counted once; anyone else's retry, or another decision, is
// refused. A return is finished alike, with the new reply task's
// deadline.
func TestARetriedReviewFinishesWhatAFailedOneLeft(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")

	failing := func(body string) {
		t.Helper()
		// The task is done; the Put marking the message fails.
		h.host.failNextPut(collMessages, id, 0)
		h.host.caller = office
		if resp, err := h.mod.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/messages/" + id + "/review", Body: []byte(body),
			Caller: office, Settings: json.RawMessage(testSettings)}, h.host); err == nil {
			t.Fatalf("a review the host failed to keep: %d %s", resp.Status, resp.Body)
		}
		if m := h.message(id); m.Status != statusReplied {
			t.Fatalf("the failed review left %+v", m)
		}
	}
	other := office
	other.AccountID, other.Login = 12, "xxzx2"

	failing(`{"decision":"return","reason":"请说明补充哪些材料"}`)
	h.want("another clerk's retry", h.do(other, "POST", "/messages/"+id+"/review", map[string]any{"decision": "return", "reason": "请说明"}), 409, codeIllegalTransition)
	h.want("a retry deciding otherwise", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 409, codeIllegalTransition)
	h.want("the return's retry", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "return", "reason": "请说明补充哪些材料"}), 200, "")
	if m := h.message(id); m.Status != statusRouted || len(m.Returns) != 1 || m.DueAt == nil || !m.DueAt.Equal(*h.host.tasks[len(h.host.tasks)-1].DueAt) {
		t.Fatalf("the return's retry left %+v", m)
	}

	h.now = h.now.Add(time.Hour)
	h.want("reply again", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，请补充户口簿复印件。"}), 200, "")
	failing(`{"decision":"accept","publish":true}`)
	h.want("another clerk's retry", h.do(other, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 409, codeIllegalTransition)
	h.want("the accept's retry", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 200, "")
	m := h.message(id)
	if m.Status != statusAnswered || m.PublishedID == "" {
		t.Fatalf("the accept's retry left %+v", m)
	}
	if pubs := h.host.ids(collPublished); len(pubs) != 1 {
		t.Errorf("%d replies published", len(pubs))
	} else if !slices.Contains(pubs, m.PublishedID) {
		t.Errorf("the message names %s, not the reply published", m.PublishedID)
	}
	if got := h.host.figures()[measureAnswered+" 3"]; got != 1 {
		t.Errorf("answered %d", got)
	}
}

// A reply an attempt at the review published before the host failed,
// without the task done, is taken away when the review then accepts it
// without publishing: only a reply accepted to be published is listed.
func TestAReviewTakesAwayWhatAnEarlierAttemptPublished(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")
	review := *h.host.tasks[len(h.host.tasks)-1]
	if _, err := h.host.Put(context.Background(), collPublished, publishedID(id, review), 0, published{Category: "投诉", Reply: "您好，已核实处理。"}); err != nil {
		t.Fatal(err)
	}
	h.want("accept unpublished", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept"}), 200, "")
	if n := h.host.Count(collPublished); n != 0 {
		t.Errorf("%d replies published of one accepted unpublished", n)
	}
	if got := h.want("the public list", h.do(citizen, "GET", "/public/replies", nil), 200, "").body["replies"].([]any); len(got) != 0 {
		t.Errorf("the public list shows %d", len(got))
	}
}

// A routing the host failed in after claiming the message leaves it
// routed without an instance; the same account's retry routes it on to
// the unit claimed, keeping the instance the failed routing started (one
// instance, counted once) or starting one if it had not. Anyone else's
// retry, or one naming another unit, is refused.
func TestARetriedRoutingFinishesWhatAFailedOneLeft(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	h.now = h.now.Add(time.Minute)
	h.leave("求助", true)
	page := h.want("the office's list", h.do(office, "GET", "/messages", nil), 200, "").body["messages"].([]any)
	second, first := page[0].(map[string]any)["id"].(string), page[1].(map[string]any)["id"].(string)

	// The claim's Put succeeds, the workflow starts, and the Put writing
	// its instance fails.
	h.host.failNextPut(collMessages, first, 1)
	h.host.caller = office
	if resp, err := h.mod.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/messages/" + first + "/route", Body: []byte(`{}`),
		Caller: office, Settings: json.RawMessage(testSettings)}, h.host); err == nil {
		t.Fatalf("a routing the host failed to keep: %d %s", resp.Status, resp.Body)
	}
	if m := h.message(first); m.Status != statusRouted || m.InstanceID != 0 {
		t.Fatalf("the failed routing left %+v", m)
	}
	other := office
	other.AccountID, other.Login = 12, "xxzx2"
	h.want("another clerk's retry", h.do(other, "POST", "/messages/"+first+"/route", map[string]any{}), 409, codeIllegalTransition)
	h.want("a retry to another unit", h.do(office, "POST", "/messages/"+first+"/route", map[string]any{"unit_id": 4}), 409, codeIllegalTransition)
	h.want("the retry", h.do(office, "POST", "/messages/"+first+"/route", map[string]any{"unit_id": 3}), 200, "")
	if m := h.message(first); m.Status != statusRouted || m.UnitID != 3 || m.InstanceID != 1 || m.DueAt == nil || len(h.host.instances) != 1 {
		t.Fatalf("the retry left %+v, %d instances", m, len(h.host.instances))
	}
	h.want("routed again", h.do(office, "POST", "/messages/"+first+"/route", map[string]any{}), 409, codeIllegalTransition)
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+first+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")

	// A routing gone after its claim, before any start.
	rec, err := h.host.Get(context.Background(), collMessages, second)
	if err != nil {
		t.Fatal(err)
	}
	m := h.message(second)
	at := h.now.UTC()
	m.Status, m.UnitID, m.RoutedAt, m.RoutedBy = statusRouted, 4, &at, office.Login
	if _, err := h.host.Put(context.Background(), collMessages, second, rec.Version, m); err != nil {
		t.Fatal(err)
	}
	h.want("the retry", h.do(office, "POST", "/messages/"+second+"/route", map[string]any{}), 200, "")
	if m := h.message(second); m.UnitID != 4 || m.InstanceID != 2 || len(h.host.instances) != 2 {
		t.Fatalf("the retry left %+v, %d instances", m, len(h.host.instances))
	}
	if got := h.host.figures(); got[measureReceived+" 3"] != 1 || got[measureReceived+" 4"] != 1 {
		t.Errorf("measures %v", got)
	}
}

// answered takes a publishable complaint to an accepted reply, and
// answers its receipt's number and code.
func (h *harness) answered() (string, string, string) {
	h.t.Helper()
	number, code := h.leave("投诉", true)
	page := h.want("the new messages", h.do(office, "GET", "/messages?number="+number, nil), 200, "").body["messages"].([]any)
	id := page[0].(map[string]any)["id"].(string)
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")
	h.want("accept", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 200, "")
	return id, number, code
}

// A rating whose measure the host failed to record is kept, and the
// citizen's retry, refused already_rated, records the measure: once,
// however often it is retried.
func TestARetriedRatingRecordsWhatAFailedOneMissed(t *testing.T) {
	h := newHarness(t)
	_, number, code := h.answered()
	h.host.failNext("RecordMeasure", sdk.ErrBusy)
	h.want("rate", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "不满意"}), 200, "")
	if got := h.host.figures(); got[measureRatedUnsatisfied+" 3"] != 0 || got[measureReopened+" 3"] != 1 {
		t.Fatalf("the failed measure: %v", got)
	}
	for range 2 {
		h.want("the retry", h.do(citizen, "POST", "/public/messages/"+number+"/rating", map[string]any{"code": code, "rating": "不满意"}), 409, codeAlreadyRated)
	}
	if got := h.host.figures(); got[measureRatedUnsatisfied+" 3"] != 1 || got[measureReopened+" 3"] != 1 {
		t.Errorf("after the retries: %v", got)
	}
}

// Two ratings of one reply sent at once: one is taken, the other refused
// already_rated, and one rating is counted.
func TestTwoRatingsAtOnceCountOnce(t *testing.T) {
	h := newHarness(t)
	id, number, code := h.answered()
	h.host.caller = citizen
	statuses := make(chan int, 2)
	for _, rating := range []string{"满意", "不满意"} {
		go func() {
			body, _ := json.Marshal(map[string]any{"code": code, "rating": rating})
			resp, err := h.mod.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/public/messages/" + number + "/rating", Body: body,
				Caller: citizen, Settings: json.RawMessage(testSettings)}, h.host)
			if err != nil {
				t.Error(err)
				statuses <- 0
				return
			}
			statuses <- resp.Status
		}()
	}
	got := []int{<-statuses, <-statuses}
	if !(got[0] == 200 && got[1] == 409 || got[0] == 409 && got[1] == 200) {
		t.Fatalf("two ratings at once: %v", got)
	}
	m := h.message(id)
	figures := h.host.figures()
	if figures[measureRatedSatisfied+" 3"]+figures[measureRatedUnsatisfied+" 3"] != 1 || figures[ratings[m.Rating]+" 3"] != 1 {
		t.Errorf("rated %s, measures %v", m.Rating, figures)
	}
}

// Staff who read a message but whose task it is not (信访局, the IT
// office on a reply, an operator, the unit's leader) are refused
// not_your_task having changed nothing: no draft of a reply kept, no
// reply published even for a moment.
func TestWhoMayNotActChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	op := sdk.Caller{Kind: sdk.CallerOperator, Login: "op", Roles: []string{"operator"}}
	leader := sdk.Caller{Kind: sdk.CallerAccount, Login: "mzleader", AccountID: 33, UnitID: 3, Roles: []string{"leader"}}
	before, err := h.host.Get(context.Background(), collMessages, id)
	if err != nil {
		t.Fatal(err)
	}
	for name, who := range map[string]sdk.Caller{"信访局": letters, "the IT office": office, "an operator": op, "民政局's leader": leader} {
		h.want(name+" replies", h.do(who, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "此件由" + name + "代为答复。"}), 403, codeNotYourTask)
	}
	if after, _ := h.host.Get(context.Background(), collMessages, id); after.Version != before.Version || h.message(id).Reply != "" {
		t.Fatalf("refused replies changed the message: %+v", h.message(id))
	}
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")
	for name, who := range map[string]sdk.Caller{"信访局": letters, "an operator": op, "民政局": mzClerk} {
		h.want(name+" accepts and publishes", h.do(who, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 403, codeNotYourTask)
	}
	if n := h.host.puts[collPublished]; n != 0 {
		t.Errorf("refused reviews published %d replies", n)
	}
}

// Two clerks of the IT office accepting one reply at once: the one whose
// action the engine refuses (done meanwhile) takes back nothing it did
// not publish, so the reply the other published stays listed.
func TestALosingAcceptLeavesTheWinnersPublication(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")
	// The winner has published and is acting; the loser finds the reply
	// published and the task done.
	pubID := publishedID(id, *h.host.tasks[len(h.host.tasks)-1])
	if _, err := h.host.Put(context.Background(), collPublished, pubID, 0, published{Category: "投诉", Reply: "您好，已核实处理。"}); err != nil {
		t.Fatal(err)
	}
	h.host.failNext("ActOnTaskWith", sdk.ErrConflict)
	h.want("the losing accept", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "accept", "publish": true}), 409, codeIllegalTransition)
	if !slices.Contains(h.host.ids(collPublished), pubID) {
		t.Error("the losing accept took back the winner's published reply")
	}
}

// A review not publishing, whose action the engine refuses because a
// clerk's accept with publication was done first, takes nothing away.
func TestALosingReviewWithoutPublicationLeavesTheWinnersPublication(t *testing.T) {
	h := newHarness(t)
	h.leave("投诉", true)
	id := h.onlyMessage()
	h.want("route", h.do(office, "POST", "/messages/"+id+"/route", map[string]any{}), 200, "")
	h.want("reply", h.do(mzClerk, "POST", "/messages/"+id+"/reply", map[string]any{"reply": "您好，已核实处理。"}), 200, "")
	pubID := publishedID(id, *h.host.tasks[len(h.host.tasks)-1])
	if _, err := h.host.Put(context.Background(), collPublished, pubID, 0, published{Category: "投诉", Reply: "您好，已核实处理。"}); err != nil {
		t.Fatal(err)
	}
	h.host.failNext("ActOnTaskWith", sdk.ErrConflict)
	h.want("the losing return", h.do(office, "POST", "/messages/"+id+"/review", map[string]any{"decision": "return", "reason": "请补充"}), 409, codeIllegalTransition)
	if !slices.Contains(h.host.ids(collPublished), pubID) {
		t.Error("the losing return took back the winner's published reply")
	}
}

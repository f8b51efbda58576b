package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdktest"
)

// TestAMessageGoesToTheUnitOfItsCategory runs the module on a real host:
// a citizen leaves a message without an account and gets a receipt; the
// hotline office dispatches it, and the workflow runs for the unit the
// county's settings name for its category, where only that unit's clerk
// finds and answers it; the answer counts once in the unit's measure,
// read back through the platform's API, and the citizen reads it with the
// receipt.
func TestAMessageGoesToTheUnitOfItsCategory(t *testing.T) {
	h := sdktest.Start(t, sdktest.Options{
		// The hotline office: its business admin dispatches, the
		// county's admin reads the measures; its clerk answers nothing.
		Accounts: map[string][]string{"dispatcher": {"business_admin"}, "admin": {"system_admin"}, "officeclerk": {"clerk"}},
		// The units that answer.
		Units: map[string]map[string][]string{
			"县民政局": {"mzclerk": {"clerk"}},
			"县交通局": {"jtclerk": {"clerk"}},
		},
		ServerFlags: []string{"--public-rate", "100"},
	})
	mz, jt := h.UnitIDs["县民政局"], h.UnitIDs["县交通局"]
	module := "/v1/tenants/" + h.County + "/modules/" + h.Module
	if r := h.Operator().API(t, "PUT", module, map[string]any{"settings": map[string]any{"units": map[string]int64{"民政": mz, "交通": jt}}}); r.Status != 200 {
		t.Fatalf("the county names its units: %v", r)
	}

	// A citizen leaves a message, without an account.
	if r := h.Public(t, "POST", "/public/messages", map[string]string{"category": "水利", "text": "河堤有裂缝"}); r.Status != 400 || r.Code != "unknown_category" {
		t.Errorf("a category the county does not answer: %v", r)
	}
	r := h.Public(t, "POST", "/public/messages", map[string]string{"category": "民政", "text": "  低保申请递交后多久有结果？  "})
	if r.Status != 201 {
		t.Fatalf("a citizen's message: %v", r)
	}
	var left struct{ Receipt sdk.Receipt }
	r.Decode(t, &left)
	if left.Receipt.Number == "" || left.Receipt.Code == "" {
		t.Fatalf("the receipt: %v", r)
	}
	follow := func() map[string]any {
		t.Helper()
		r := h.Public(t, "POST", "/public/receipts/"+left.Receipt.Number, map[string]string{"code": left.Receipt.Code})
		if r.Status != 200 {
			t.Fatalf("follow the message: %v", r)
		}
		var got map[string]any
		r.Decode(t, &got)
		return got
	}
	if got := follow(); got["status"] != "new" || got["category"] != "民政" {
		t.Errorf("followed before dispatch: %v", got)
	}
	if r := h.Public(t, "GET", "/messages?status=new", nil); r.Status != 404 || r.Code != "public_route_not_found" {
		t.Errorf("the office's list, without a token: %v", r)
	}

	// The office dispatches it; a clerk may not.
	var news struct {
		Messages []sdk.Record `json:"messages"`
	}
	h.As(t, "dispatcher").Call(t, "GET", "/messages?status=new", nil).Decode(t, &news)
	if len(news.Messages) != 1 {
		t.Fatalf("new messages: %+v", news)
	}
	id, version := news.Messages[0].ID, news.Messages[0].Version
	if r := h.As(t, "officeclerk").Call(t, "POST", "/messages/"+id+"/dispatch", map[string]int64{"version": version}); r.Status != 403 {
		t.Errorf("a clerk dispatches: %v", r)
	}
	r = h.As(t, "dispatcher").Call(t, "POST", "/messages/"+id+"/dispatch", map[string]int64{"version": version})
	if r.Status != 200 {
		t.Fatalf("dispatch: %v", r)
	}
	var dispatched struct {
		Instance sdk.Instance `json:"instance"`
		Opened   []sdk.Task   `json:"opened"`
	}
	r.Decode(t, &dispatched)
	if in := dispatched.Instance; in.Workflow != "hotline.message" || in.SubjectUnitID != mz || in.InitiatorUnitID != h.UnitID || in.Status != "running" {
		t.Errorf("the instance runs for unit %d, not 县民政局 (%d): %+v", in.SubjectUnitID, mz, in)
	}
	if len(dispatched.Opened) != 1 || dispatched.Opened[0].UnitID != mz || dispatched.Opened[0].Role == nil || *dispatched.Opened[0].Role != "clerk" {
		t.Errorf("the task opened: %+v", dispatched.Opened)
	}
	if r := h.As(t, "dispatcher").Call(t, "POST", "/messages/"+id+"/dispatch", map[string]int64{"version": version}); r.Status != 409 {
		t.Errorf("dispatched twice: %v", r)
	}
	// The platform's own API says the same of the instance.
	var instance sdk.Instance
	h.As(t, "admin").API(t, "GET", "/v1/tenants/"+h.County+"/instances/"+strconv.FormatInt(dispatched.Instance.ID, 10), nil).Decode(t, &instance)
	if instance.SubjectUnitID != mz {
		t.Errorf("the API's instance: %+v", instance)
	}

	// The task waits for 民政局's clerk, and for nobody else.
	var waiting struct {
		Tasks []struct {
			Message string   `json:"message"`
			Task    sdk.Task `json:"task"`
		} `json:"tasks"`
	}
	h.As(t, "mzclerk").Call(t, "GET", "/tasks", nil).Decode(t, &waiting)
	if len(waiting.Tasks) != 1 || waiting.Tasks[0].Message != id || waiting.Tasks[0].Task.UnitID != mz {
		t.Fatalf("民政局's clerk's tasks: %+v", waiting)
	}
	for _, other := range []string{"jtclerk", "officeclerk"} {
		var none struct {
			Tasks []any `json:"tasks"`
		}
		if h.As(t, other).Call(t, "GET", "/tasks", nil).Decode(t, &none); len(none.Tasks) != 0 {
			t.Errorf("%s sees %v", other, none.Tasks)
		}
		if r := h.As(t, other).Call(t, "POST", "/messages/"+id+"/answer", map[string]string{"answer": "不归我们管"}); r.Status != 403 {
			t.Errorf("%s answers: %v", other, r)
		}
	}
	if r := h.As(t, "jtclerk").Call(t, "GET", "/messages/"+id, nil); r.Status != 404 {
		t.Errorf("交通局's clerk reads 民政局's message: %v", r)
	}

	// 民政局's clerk answers; a second answer counts nothing more.
	if r := h.As(t, "mzclerk").Call(t, "POST", "/messages/"+id+"/answer", map[string]string{"answer": "材料齐全的，20个工作日内办结。"}); r.Status != 200 {
		t.Fatalf("the clerk answers: %v", r)
	}
	if r := h.As(t, "mzclerk").Call(t, "POST", "/messages/"+id+"/answer", map[string]string{"answer": "再答一次"}); r.Status != 409 {
		t.Errorf("answered twice: %v", r)
	}
	if got := follow(); got["status"] != "answered" || !strings.Contains(got["answer"].(string), "20个工作日") {
		t.Errorf("the citizen reads: %v", got)
	}

	// The measure, as the county reads it: one message answered by 民政局
	// today (in China), none by 交通局.
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	r = h.As(t, "admin").API(t, "GET", "/v1/tenants/"+h.County+"/measures?measure="+answered+"&from="+today+"&to="+today+"&by=day", nil)
	if r.Status != 200 {
		t.Fatalf("read the measure: %v", r)
	}
	var report struct {
		Definitions []sdk.MeasureDef `json:"definitions"`
		Figures     []struct {
			Measure string `json:"measure"`
			UnitID  int64  `json:"unit_id"`
			Period  string `json:"period"`
			Value   int64  `json:"value"`
		} `json:"figures"`
	}
	r.Decode(t, &report)
	if len(report.Definitions) != 1 || report.Definitions[0].Label.ZH != "答复留言数" || report.Definitions[0].Label.EN != "Messages answered" {
		t.Errorf("the measure's definition: %+v", report.Definitions)
	}
	if len(report.Figures) != 1 || report.Figures[0].UnitID != mz || report.Figures[0].Value != 1 || report.Figures[0].Period != today {
		t.Errorf("the figures: %v", r)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/tenants/seals"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// oaPlatform is a platform whose two counties run the oa module.
type oaPlatform struct {
	// tokens are Wengyuan's accounts' and Lechang's admin's (lcadmin).
	tokens map[string]string
	// url is the server's; wy and lc the module's base in each county.
	url, wy, lc string
	// wyEnv runs the CLI as the operator in Wengyuan.
	wyEnv map[string]string
	// platform is the server's, for what a benchmark calls in-process.
	platform *platform
}

// oaCounties starts a platform with Wengyuan and Lechang, both running
// the oa module. Wengyuan's units are 1 县信息中心 (its admin), 2 县政府办
// (the sender: clerk gbclerk, business admin gbcheck, leader gblead,
// unit admin gbadmin), 3 民政局 and 4 财政局 (receivers: a clerk, a
// business admin and a leader each).
func oaCounties(t testing.TB) oaPlatform {
	t.Helper()
	db, server, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	operator := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	for _, name := range []string{"县政府办", "民政局", "财政局"} {
		mustCLI(t, wyEnv, "org", "units", "create", "--name", name)
	}
	for _, a := range []struct {
		login, unit string
		roles       []string
	}{
		{"gbclerk", "2", []string{"clerk"}}, {"gbcheck", "2", []string{"business_admin"}}, {"gblead", "2", []string{"leader"}},
		{"gbadmin", "2", []string{"unit_admin"}},
		{"mzclerk", "3", []string{"clerk"}}, {"mzcheck", "3", []string{"business_admin"}}, {"mzlead", "3", []string{"leader"}},
		{"czclerk", "4", []string{"clerk"}}, {"czcheck", "4", []string{"business_admin"}}, {"czlead", "4", []string{"leader"}},
	} {
		args := []string{"org", "accounts", "create", "--login", a.login, "--name", "人员" + a.login, "--unit", a.unit}
		for _, r := range a.roles {
			args = append(args, "--role", r)
		}
		mustCLI(t, wyEnv, args...)
	}
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "oa")
	}
	tokens := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	tokens["lcadmin"] = loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	return oaPlatform{tokens: tokens, url: url, wy: url + "/v1/tenants/gd.shaoguan.wengyuan/modules/oa",
		lc: url + "/v1/tenants/gd.shaoguan.lechang/modules/oa", wyEnv: wyEnv, platform: server}
}

// TestOfficialDocumentsTemplatesThroughTheHost: a unit's template is set
// by its admin, read by the county's accounts, and out of another
// county's reach.
func TestOfficialDocumentsTemplatesThroughTheHost(t *testing.T) {
	t.Parallel()
	p := oaCounties(t)
	tokens, wy, lc := p.tokens, p.wy, p.lc
	wengfu := map[string]any{"header": "翁源县人民政府文件", "prefix": "翁府", "signature": "翁源县人民政府"}
	want(t, "a clerk sets a template", call(t, "PUT", wy+"/templates/2", tokens["gbclerk"], wengfu), 403, "forbidden")
	want(t, "another unit's admin sets it", call(t, "PUT", wy+"/templates/3", tokens["gbadmin"], wengfu), 403, "forbidden")
	want(t, "the unit's admin sets it", call(t, "PUT", wy+"/templates/2", tokens["gbadmin"], wengfu), 201, "")
	r := call(t, "GET", wy+"/templates/2", tokens["mzclerk"], nil)
	if want(t, "another unit reads it", r, 200, ""); !strings.Contains(string(r.body), `"prefix":"翁府"`) {
		t.Fatalf("template: %s", r.body)
	}
	want(t, "Lechang reads Wengyuan's template", call(t, "GET", lc+"/templates/2", tokens["lcadmin"], nil), 404, "template_not_found")
	r = call(t, "GET", lc+"/templates", tokens["lcadmin"], nil)
	if want(t, "Lechang's templates", r, 200, ""); strings.Contains(string(r.body), "翁府") {
		t.Fatalf("Lechang lists Wengyuan's template: %s", r.body)
	}
}

// oaActs does each action on the document as its person, expecting the
// status after it.
func oaActs(t testing.TB, base, path string, tokens map[string]string, steps ...[3]string) map[string]any {
	t.Helper()
	var last map[string]any
	for _, s := range steps {
		r := call(t, "POST", base+path+"/act", tokens[s[0]], map[string]any{"action": s[1], "comment": "同意"})
		want(t, s[0]+" "+s[1], r, 200, "")
		last = decode[map[string]any](t, r)
		var status string
		for _, k := range []string{"document", "received"} {
			if m, ok := last[k].(map[string]any); ok {
				status, _ = m["status"].(string)
			}
		}
		if status != s[2] {
			t.Fatalf("%s %s: status %q, want %q: %s", s[0], s[1], status, s[2], r.body)
		}
	}
	return last
}

// TestAnOfficialDocumentThroughTheHost carries a document of 县政府办
// through drafting, numbering, sealing and distribution to 民政局 and
// 财政局, each of which signs it in and archives it, with the real
// engine, seals, numbering and measures; one byte changed fails its
// verification; Lechang reaches none of it.
func TestAnOfficialDocumentThroughTheHost(t *testing.T) {
	t.Parallel()
	p := oaCounties(t)
	tokens, wy, lc, url := p.tokens, p.wy, p.lc, p.url
	want(t, "the template", call(t, "PUT", wy+"/templates/2", tokens["gbadmin"],
		map[string]any{"header": "翁源县人民政府办公室文件", "prefix": "翁府办", "signature": "翁源县人民政府办公室"}), 201, "")
	want(t, "the seal", call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan/seals", tokens["wyadmin"], map[string]any{"unit_id": 2}), 201, "")

	draft := map[string]any{"title": "关于做好2026年防汛工作的通知", "urgency": "特急", "main_units": []int64{3}, "copy_units": []int64{4},
		"body": "各单位：现将有关事项通知如下。", "paper": true}
	refused := map[string]any{}
	maps.Copy(refused, draft)
	refused["classification"] = "机密"
	want(t, "a classified document", call(t, "POST", wy+"/documents", tokens["gbclerk"], refused), 403, "classified_content_refused")
	refused["classification"], refused["main_units"] = "非密", []int64{3, 9}
	want(t, "an unknown recipient", call(t, "POST", wy+"/documents", tokens["gbclerk"], refused), 400, "unknown_unit")
	r := call(t, "POST", wy+"/documents", tokens["gbclerk"], draft)
	want(t, "draft", r, 201, "")
	id := decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	want(t, "民政局 reads a draft", call(t, "GET", wy+"/documents/"+id, tokens["mzclerk"], nil), 404, "document_not_found")

	body := bytes.Repeat([]byte("翁源县人民政府办公室文件。"), 200)
	r = call(t, "POST", wy+"/documents/"+id+"/files", tokens["gbclerk"], map[string]any{"name": "正文.pdf", "content_type": "application/pdf", "size": len(body), "kind": "body"})
	want(t, "the body's file", r, 201, "")
	upload := decode[struct {
		File struct {
			ID string `json:"file_id"`
		} `json:"file"`
		Upload struct {
			URL string `json:"url"`
		} `json:"upload"`
	}](t, r)
	if status, got := rawCall(t, "PUT", upload.Upload.URL, body, map[string]string{"Content-Type": "application/pdf"}); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, got)
	}
	want(t, "a file of a refused type", call(t, "POST", wy+"/documents/"+id+"/files", tokens["gbclerk"],
		map[string]any{"name": "a.exe", "content_type": "application/x-msdownload", "size": 10}), 415, "file_type_refused")

	want(t, "the checker drafts", call(t, "POST", wy+"/documents/"+id+"/act", tokens["gbcheck"], map[string]any{"action": "submit"}), 403, "not_your_task")
	want(t, "an illegal transition", call(t, "POST", wy+"/documents/"+id+"/act", tokens["gbclerk"], map[string]any{"action": "sign"}), 400, "action_not_allowed")
	last := oaActs(t, wy, "/documents/"+id, tokens,
		[3]string{"gbclerk", "submit", "check"}, [3]string{"gbcheck", "pass", "review"}, [3]string{"gblead", "pass", "sign"},
		[3]string{"gblead", "sign", "register"}, [3]string{"gbclerk", "register", "typeset"})
	// The server numbers in China's year, which is the test's, unless it
	// turned while the test ran.
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	if number := last["document"].(map[string]any)["number"]; number != fmt.Sprintf("翁府办〔%d〕1号", year) {
		t.Fatalf("the number: %v", number)
	}
	oaActs(t, wy, "/documents/"+id, tokens, [3]string{"gbclerk", "typeset", "seal"}, [3]string{"gbclerk", "seal", "distribute"},
		[3]string{"gbclerk", "distribute", "archive"})

	// The seal verifies the files as they are, and not with one byte
	// changed, which it names.
	r = call(t, "GET", wy+"/documents/"+id+"/seal", tokens["mzclerk"], nil)
	want(t, "the recipient reads the seal", r, 200, "")
	sealed := decode[struct {
		Seal  json.RawMessage `json:"seal"`
		Files []struct {
			Name string `json:"name"`
			URL  struct {
				URL string `json:"url"`
			} `json:"download"`
		} `json:"files"`
	}](t, r)
	status, got := rawCall(t, "GET", sealed.Files[0].URL.URL, nil, nil)
	if status != 200 || !bytes.Equal(got, body) {
		t.Fatalf("download: %d", status)
	}
	verify := func(b []byte) seals.Verdict {
		r := call(t, "POST", url+seals.VerifyPath, "", seals.VerifyRequest{Seal: sealed.Seal, Files: []seals.File{{Name: "正文.pdf", SM3: seals.DigestBytes(b)}}})
		want(t, "verify", r, 200, "")
		return decode[seals.Verdict](t, r)
	}
	if v := verify(got); !v.Valid || v.UnitID != 2 {
		t.Fatalf("the sealed document: %+v", v)
	}
	got[7] ^= 1
	if v := verify(got); v.Valid || !strings.Contains(strings.Join(v.Problems, " "), "正文.pdf") {
		t.Fatalf("one byte changed: %+v", v)
	}

	// Each recipient signs in; the sender sees who did, and when.
	mz, cz := "/received/"+id+".3", "/received/"+id+".4"
	oaActs(t, wy, mz, tokens, [3]string{"mzclerk", "sign_in", "propose"})
	r = call(t, "GET", wy+"/documents/"+id+"/receipts", tokens["gbclerk"], nil)
	want(t, "receipts", r, 200, "")
	receipts := decode[struct {
		Receipts []struct {
			UnitID   int64  `json:"unit_id"`
			UnitName string `json:"unit_name"`
			SignedIn bool   `json:"signed_in"`
		} `json:"receipts"`
	}](t, r).Receipts
	if len(receipts) != 2 || receipts[0].UnitName != "民政局" || !receipts[0].SignedIn || receipts[1].SignedIn {
		t.Fatalf("receipts: %s", r.body)
	}
	want(t, "财政局 reads 民政局's", call(t, "GET", wy+mz, tokens["czclerk"], nil), 404, "received_not_found")
	oaActs(t, wy, mz, tokens, [3]string{"mzcheck", "propose", "instruct"}, [3]string{"mzlead", "instruct", "handle"},
		[3]string{"mzcheck", "done", "circulate"}, [3]string{"mzlead", "read", "archive"}, [3]string{"mzclerk", "archive", "done"})
	oaActs(t, wy, cz, tokens, [3]string{"czclerk", "sign_in", "propose"}, [3]string{"czcheck", "propose", "instruct"}, [3]string{"czlead", "instruct", "handle"},
		[3]string{"czcheck", "done", "circulate"}, [3]string{"czlead", "read", "archive"}, [3]string{"czclerk", "archive", "done"})
	oaActs(t, wy, "/documents/"+id, tokens, [3]string{"gbclerk", "archive", "done"})

	// Lists, by the filters.
	r = call(t, "GET", wy+fmt.Sprintf("/documents?year=%d&number=1&urgency=特急&status=done&title=防汛", year), tokens["gbclerk"], nil)
	if want(t, "the sent list", r, 200, ""); !strings.Contains(string(r.body), id) {
		t.Fatalf("sent: %s", r.body)
	}
	r = call(t, "GET", wy+fmt.Sprintf("/received?year=%d&title=防汛", year), tokens["mzclerk"], nil)
	if want(t, "the received list", r, 200, ""); !strings.Contains(string(r.body), id+".3") || strings.Contains(string(r.body), id+".4") {
		t.Fatalf("received: %s", r.body)
	}

	// The measures all this produced, each once.
	r = call(t, "GET", url+fmt.Sprintf("/v1/tenants/gd.shaoguan.wengyuan/measures?measure=oa.documents.drafted,oa.documents.sent,oa.documents.received,"+
		"oa.documents.sealed,oa.documents.paper&from=%d-01-01&to=%d-12-31&by=month", year, year), tokens["wyadmin"], nil)
	want(t, "measures", r, 200, "")
	figures := map[string]int64{}
	for _, f := range decode[measure.Report](t, r).Figures {
		figures[fmt.Sprintf("%s %d", f.Measure, f.Unit)] += f.Value
	}
	if wanted := map[string]int64{"oa.documents.drafted 2": 1, "oa.documents.sent 2": 1, "oa.documents.sealed 2": 1, "oa.documents.paper 2": 1,
		"oa.documents.received 3": 1, "oa.documents.received 4": 1}; !maps.Equal(figures, wanted) {
		t.Errorf("measures %v, want %v", figures, wanted)
	}

	// Lechang reaches none of it.
	for _, path := range []string{"/documents/" + id, "/documents/" + id + "/seal", "/documents/" + id + "/receipts", mz} {
		if r := call(t, "GET", lc+path, tokens["lcadmin"], nil); r.status != 404 {
			t.Errorf("Lechang reads %s: %d %s", path, r.status, r.body)
		}
	}
	r = call(t, "GET", lc+"/documents", tokens["lcadmin"], nil)
	if want(t, "Lechang's list", r, 200, ""); strings.Contains(string(r.body), id) {
		t.Fatalf("Lechang lists Wengyuan's document: %s", r.body)
	}
}

// oaDraftToRegister drafts a document of 县政府办 for 民政局 and 财政局 and
// carries it to 登记.
func oaDraftToRegister(t *testing.T, p oaPlatform, title string) string {
	t.Helper()
	r := call(t, "POST", p.wy+"/documents", p.tokens["gbclerk"], map[string]any{"title": title, "main_units": []int64{3}, "copy_units": []int64{4}})
	want(t, "draft", r, 201, "")
	id := decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	oaActs(t, p.wy, "/documents/"+id, p.tokens, [3]string{"gbclerk", "submit", "check"}, [3]string{"gbcheck", "pass", "review"},
		[3]string{"gblead", "pass", "sign"}, [3]string{"gblead", "sign", "register"})
	return id
}

// oaAttach uploads a small body file to the document.
func oaAttach(t testing.TB, p oaPlatform, id string) {
	t.Helper()
	body := []byte("正文")
	r := call(t, "POST", p.wy+"/documents/"+id+"/files", p.tokens["gbclerk"], map[string]any{"name": "正文.pdf", "content_type": "application/pdf", "size": len(body), "kind": "body"})
	want(t, "the body's file", r, 201, "")
	u := decode[struct {
		Upload struct {
			URL string `json:"url"`
		} `json:"upload"`
	}](t, r).Upload.URL
	if status, got := rawCall(t, "PUT", u, body, map[string]string{"Content-Type": "application/pdf"}); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, got)
	}
}

// TestOfficialDocumentsRefusalsThroughTheHost: twenty registrations at
// once take the numbers 1 to 20, each once; a distribution to a unit
// where nobody can act starts no receiving flow; a revoked seal seals
// nothing.
func TestOfficialDocumentsRefusalsThroughTheHost(t *testing.T) {
	t.Parallel()
	p := oaCounties(t)
	want(t, "the template", call(t, "PUT", p.wy+"/templates/2", p.tokens["gbadmin"], map[string]any{"header": "翁源县人民政府办公室文件", "prefix": "翁府办", "signature": "翁源县人民政府办公室"}), 201, "")
	r := call(t, "POST", p.url+"/v1/tenants/gd.shaoguan.wengyuan/seals", p.tokens["wyadmin"], map[string]any{"unit_id": 2})
	want(t, "the seal", r, 201, "")
	seal := decode[seals.View](t, r)

	const n = 20
	ids := make([]string, n)
	for i := range ids {
		ids[i] = oaDraftToRegister(t, p, fmt.Sprintf("关于第%d批防汛物资的通知", i+1))
	}
	// Every document registered at once, the first one twice.
	var wg sync.WaitGroup
	results := make([]apiResult, n+1)
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, "POST", p.wy+"/documents/"+ids[i%n]+"/act", p.tokens["gbclerk"], map[string]any{"action": "register"})
		}()
	}
	wg.Wait()
	var ok int
	for _, r := range results {
		switch {
		case r.status == 200:
			ok++
		case r.status == 503 && strings.Contains(string(r.body), `"busy"`):
			// The host serves a plugin's calls a few at a time and asks
			// the rest to come back: the client retries below, and a
			// number taken before the refusal is the document's still.
		case r.status != 409 && r.status != 400:
			t.Fatalf("a registration: %d %s", r.status, r.body)
		}
	}
	if ok > n {
		t.Fatalf("%d registrations of %d documents succeeded", ok, n)
	}
	for _, id := range ids {
		d := decode[struct {
			Status string `json:"status"`
		}](t, call(t, "GET", p.wy+"/documents/"+id, p.tokens["gbclerk"], nil))
		if d.Status == "register" {
			want(t, "a registration retried", call(t, "POST", p.wy+"/documents/"+id+"/act", p.tokens["gbclerk"], map[string]any{"action": "register"}), 200, "")
		}
	}
	var numbers []int64
	for _, id := range ids {
		d := decode[struct {
			Sequence int64  `json:"sequence"`
			Status   string `json:"status"`
		}](t, call(t, "GET", p.wy+"/documents/"+id, p.tokens["gbclerk"], nil))
		if d.Status != "typeset" {
			t.Fatalf("document %s is at %s", id, d.Status)
		}
		numbers = append(numbers, d.Sequence)
	}
	slices.Sort(numbers)
	if numbers[0] != 1 || numbers[n-1] != n || len(slices.Compact(numbers)) != n {
		t.Fatalf("numbers %v", numbers)
	}

	// 财政局's accounts all disabled: the distribution starts nothing.
	id := ids[0]
	oaAttach(t, p, id)
	oaActs(t, p.wy, "/documents/"+id, p.tokens, [3]string{"gbclerk", "typeset", "seal"}, [3]string{"gbclerk", "seal", "distribute"})
	var accounts []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, p.wyEnv, "org", "accounts", "list", "--unit", "4", "-o", "json")), &accounts); err != nil || len(accounts) != 3 {
		t.Fatalf("财政局's accounts: %v %v", accounts, err)
	}
	for _, a := range accounts {
		mustCLI(t, p.wyEnv, "org", "accounts", "update", itoa(a.ID), "--status", "disabled")
	}
	want(t, "a distribution to a unit without accounts", call(t, "POST", p.wy+"/documents/"+id+"/act", p.tokens["gbclerk"], map[string]any{"action": "distribute"}), 400, "recipients_refused")
	r = call(t, "GET", p.wy+"/documents/"+id+"/receipts", p.tokens["gbclerk"], nil)
	if want(t, "receipts", r, 200, ""); strings.Contains(string(r.body), "unit_id") {
		t.Fatalf("a refused distribution left receipts: %s", r.body)
	}
	want(t, "民政局 reads what it did not receive", call(t, "GET", p.wy+"/received/"+id+".3", p.tokens["mzclerk"], nil), 404, "received_not_found")
	for _, a := range accounts {
		mustCLI(t, p.wyEnv, "org", "accounts", "update", itoa(a.ID), "--status", "active")
	}
	oaActs(t, p.wy, "/documents/"+id, p.tokens, [3]string{"gbclerk", "distribute", "archive"})

	// A revoked seal seals nothing.
	other := ids[1]
	oaAttach(t, p, other)
	oaActs(t, p.wy, "/documents/"+other, p.tokens, [3]string{"gbclerk", "typeset", "seal"})
	want(t, "revoke", call(t, "POST", p.url+"/v1/tenants/gd.shaoguan.wengyuan/seals/"+itoa(seal.ID)+"/revoke", p.tokens["wyadmin"], map[string]any{"reason": "印章停用"}), 200, "")
	want(t, "seal with a revoked seal", call(t, "POST", p.wy+"/documents/"+other+"/act", p.tokens["gbclerk"], map[string]any{"action": "seal"}), 409, "seal_unavailable")
	want(t, "no seal", call(t, "GET", p.wy+"/documents/"+other+"/seal", p.tokens["gbclerk"], nil), 409, "document_not_sealed")

	// A new seal seals it. Then the engine distributes it without the
	// module (as when the server stops between the two): the recipient's
	// first read records what it received, once, and the document
	// follows.
	want(t, "a new seal", call(t, "POST", p.url+"/v1/tenants/gd.shaoguan.wengyuan/seals", p.tokens["wyadmin"], map[string]any{"unit_id": 2}), 201, "")
	oaActs(t, p.wy, "/documents/"+other, p.tokens, [3]string{"gbclerk", "seal", "distribute"})
	r = call(t, "GET", p.wy+"/documents/"+other+"/tasks", p.tokens["gbclerk"], nil)
	want(t, "the document's tasks", r, 200, "")
	var open int64
	for _, task := range decode[struct {
		Tasks []struct {
			ID     int64  `json:"id"`
			Step   string `json:"step"`
			Status string `json:"status"`
		} `json:"tasks"`
	}](t, r).Tasks {
		if task.Status == "open" && task.Step == "distribute" {
			open = task.ID
		}
	}
	// The platform's task API refuses the module's mandatory step; the
	// engine does it as the module would have.
	want(t, "the task API's distribution", call(t, "POST", p.url+"/v1/tenants/gd.shaoguan.wengyuan/tasks/"+itoa(open)+"/act", p.tokens["gbclerk"],
		map[string]any{"action": "distribute", "recipient_unit_ids": []int64{3, 4}}), 409, "module_step")
	var clerk auth.Principal
	var clerks []struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, p.wyEnv, "org", "accounts", "list", "--unit", "2", "-o", "json")), &clerks); err != nil {
		t.Fatal(err)
	}
	for _, a := range clerks {
		if a.Login == "gbclerk" {
			clerk = auth.Principal{Kind: auth.KindAccount, ID: a.ID, Login: a.Login, Tenant: "gd.shaoguan.wengyuan", Unit: 2, Roles: []string{auth.RoleClerk}}
		}
	}
	if clerk.ID == 0 {
		t.Fatalf("no gbclerk among 县政府办's accounts: %+v", clerks)
	}
	if _, err := p.platform.workflows.Act(auth.WithPrincipal(context.Background(), clerk), "gd.shaoguan.wengyuan", open,
		workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{3, 4}, Within: func(string) bool { return true }}); err != nil {
		t.Fatalf("the engine's distribution: %v", err)
	}
	want(t, "the recipient's first read", call(t, "GET", p.wy+"/received/"+other+".3", p.tokens["mzclerk"], nil), 200, "")
	r = call(t, "GET", p.wy+"/received?title=第2批&unit_id=4", p.tokens["wyadmin"], nil)
	if want(t, "财政局's list", r, 200, ""); !strings.Contains(string(r.body), other+".4") {
		t.Fatalf("财政局 misses what it received: %s", r.body)
	}
	oaActs(t, p.wy, "/documents/"+other, p.tokens, [3]string{"gbclerk", "archive", "done"})

	// Wengyuan localises the sending flow without 审核: the leader signs
	// right after 核稿; 登记 still numbers, after the twenty.
	local := filepath.Join(t.TempDir(), "local.json")
	if err := os.WriteFile(local, []byte(`{"remove": ["review"], "time_limits": {"check": {"working_days": 1}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, p.wyEnv, "workflow", "localize", "oa.sending", local)
	r = call(t, "POST", p.wy+"/documents", p.tokens["gbclerk"], map[string]any{"title": "关于调整会议时间的通知", "main_units": []int64{3}})
	want(t, "draft", r, 201, "")
	id = decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	last := oaActs(t, p.wy, "/documents/"+id, p.tokens, [3]string{"gbclerk", "submit", "check"}, [3]string{"gbcheck", "pass", "sign"},
		[3]string{"gblead", "sign", "register"}, [3]string{"gbclerk", "register", "typeset"})
	if seq := last["document"].(map[string]any)["sequence"]; seq != float64(n+1) {
		t.Fatalf("the localised flow's number: %v", seq)
	}
}

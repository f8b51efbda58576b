package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/tenants/seals"
)

// oaCounties starts a platform with Wengyuan and Lechang, both running
// the oa module. Wengyuan's units are 1 县信息中心 (its admin), 2 县政府办
// (the sender: clerk gbclerk, business admin gbcheck, leader gblead,
// unit admin gbadmin), 3 民政局 and 4 财政局 (receivers: a clerk, a
// business admin and a leader each). It returns the tokens of
// Wengyuan's accounts and Lechang's admin (lcadmin), and the module's
// base URL in each county.
func oaCounties(t *testing.T) (tokens map[string]string, wy, lc string) {
	t.Helper()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
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
	tokens = loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	tokens["lcadmin"] = loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	return tokens, url + "/v1/tenants/gd.shaoguan.wengyuan/modules/oa", url + "/v1/tenants/gd.shaoguan.lechang/modules/oa"
}

// TestOfficialDocumentsTemplatesThroughTheHost: a unit's template is set
// by its admin, read by the county's accounts, and out of another
// county's reach.
func TestOfficialDocumentsTemplatesThroughTheHost(t *testing.T) {
	t.Parallel()
	tokens, wy, lc := oaCounties(t)
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
func oaActs(t *testing.T, base, path string, tokens map[string]string, steps ...[3]string) map[string]any {
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
	tokens, wy, lc := oaCounties(t)
	url := strings.TrimSuffix(wy, "/v1/tenants/gd.shaoguan.wengyuan/modules/oa")
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

package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/tenants/registry"
)

// TestACitizenLeavesASuggestionAndFollowsItByReceipt runs the example
// module as docs/plugins.md walks a vendor through it: a citizen, with no
// account, leaves a suggestion through its public route and gets a
// receipt, follows it with the number and code, and sees the county's
// answer; a wrong code, an unknown number and another county's route
// find nothing, alike; the county keeps only the code's hash.
func TestACitizenLeavesASuggestionAndFollowsItByReceipt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const file = "suggestions-1.0.0"
	sum := buildPlugin(t, filepath.Join("..", "..", "examples", "suggestions"), dir, file)
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) { c.PluginDir, c.PublicRate = dir, 100 })
	operator := env["COUNTYCLOUD_TOKEN"]
	mustCLI(t, env, "plugin", "register", file, "--sha256", sum)
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "suggestions")
	}
	admin := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")["wyadmin"]
	citizen := publicClient("127.0.0.1")
	pub := url + "/v1/public/gd.shaoguan.wengyuan/modules/suggestions/public"

	type receipt struct{ Number, Code string }
	leave := func(text string) receipt {
		t.Helper()
		r := publicCall(t, citizen, "POST", pub+"/suggestions", "", []byte(`{"text":"`+text+`"}`))
		want(t, "leave a suggestion", r, 201, "")
		var out struct{ Receipt receipt }
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
		return out.Receipt
	}
	first, second := leave("公交站牌字太小"), leave("图书馆延长开放时间")
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	if !regexp.MustCompile(fmt.Sprintf(`^%d-[0-9]{6}$`, year)).MatchString(first.Number) || !regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$`).MatchString(first.Code) {
		t.Fatalf("receipt %+v", first)
	}
	var a, b int
	fmt.Sscanf(strings.SplitN(first.Number, "-", 2)[1], "%d", &a)
	fmt.Sscanf(strings.SplitN(second.Number, "-", 2)[1], "%d", &b)
	if b != a+1 || first.Code == second.Code {
		t.Errorf("two receipts in a row: %+v %+v", first, second)
	}

	follow := func(county, number, code string) apiResult {
		t.Helper()
		body, err := json.Marshal(map[string]string{"code": code})
		if err != nil {
			t.Fatal(err)
		}
		return publicCall(t, citizen, "POST", url+"/v1/public/"+county+"/modules/suggestions/public/receipts/"+number, "", body)
	}
	r := follow("gd.shaoguan.wengyuan", first.Number, first.Code)
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"open"`) {
		t.Fatalf("follow it: %d %s", r.status, r.body)
	}
	if r := follow("gd.shaoguan.wengyuan", first.Number, strings.ToLower(strings.ReplaceAll(first.Code, "-", ""))); r.status != 200 {
		t.Errorf("the code in lower case without dashes: %d %s", r.status, r.body)
	}
	wrong := follow("gd.shaoguan.wengyuan", first.Number, second.Code)
	unknown := follow("gd.shaoguan.wengyuan", fmt.Sprintf("%d-999999", year), first.Code)
	garbled := follow("gd.shaoguan.wengyuan", "x", first.Code)
	elsewhere := follow("gd.shaoguan.lechang", first.Number, first.Code)
	for what, r := range map[string]apiResult{"another receipt's code": wrong, "an unknown number": unknown, "a number that is none": garbled, "Lechang": elsewhere} {
		if r.status != 404 || r.code() != "not_found" || !strings.Contains(string(r.body), "no receipt has this number and code") {
			t.Errorf("%s: %d %s", what, r.status, r.body)
		}
	}

	// The county answers; the citizen reads the answer.
	r = call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan/modules/suggestions/suggestions?status=open", admin, nil)
	var open struct {
		Suggestions []struct {
			ID       string
			Version  int64
			Document struct{ Text, By string }
		}
	}
	if err := json.Unmarshal(r.body, &open); err != nil || len(open.Suggestions) != 2 || open.Suggestions[0].Document.By != "anonymous" {
		t.Fatalf("the open suggestions: %s (%v)", r.body, err)
	}
	for _, s := range open.Suggestions {
		if s.Document.Text == "公交站牌字太小" {
			want(t, "answer it", call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan/modules/suggestions/suggestions/"+s.ID+"/answer", admin, map[string]any{"answer": "已更换大字站牌", "version": s.Version}), 200, "")
		}
	}
	if r := follow("gd.shaoguan.wengyuan", first.Number, first.Code); r.status != 200 || !strings.Contains(string(r.body), "已更换大字站牌") {
		t.Errorf("the answer, by receipt: %d %s", r.status, r.body)
	}
	// The staff-only routes stay closed to the public prefix.
	want(t, "the list through the public prefix", publicCall(t, citizen, "GET", url+"/v1/public/gd.shaoguan.wengyuan/modules/suggestions/suggestions", "", nil), 404, "public_route_not_found")

	// The county keeps the code's hash, never the code.
	schema := "`" + registry.SchemaName(db.SchemaPrefix, "gd.shaoguan.wengyuan") + "`"
	var stored []byte
	if err := db.Server.Get(&stored, "SELECT code_sha256 FROM "+schema+".receipts WHERE number = ?", first.Number); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(strings.ReplaceAll(first.Code, "-", ""))); string(stored) != string(sum[:]) {
		t.Errorf("stored %x, want the code's SHA-256", stored)
	}
	var leaks int
	if err := db.Server.Get(&leaks, "SELECT COUNT(*) FROM "+schema+".plugin_records WHERE document LIKE ?", "%"+first.Code[:9]+"%"); err != nil || leaks != 0 {
		t.Errorf("the code is in %d records (%v)", leaks, err)
	}
}

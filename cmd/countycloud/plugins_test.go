package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/host"
)

// TestMain lets the test binary stand in for the platform's binary when
// the host launches a built-in module: 'module serve ID'.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "module" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
	}
	os.Exit(m.Run())
}

// buildPlugin builds the plugin whose main package is in src into dir as
// file, as a vendor would, and returns its SHA-256.
func buildPlugin(t *testing.T, src, dir, file string, flags ...string) string {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", filepath.Join(dir, file), ".")...)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the plugin in %s: %v\n%s", src, err, out)
	}
	sum, err := host.FileSHA256(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum)
}

func TestAVendorPluginIsRegisteredEnabledAndServedToItsCountyOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const file = "suggestions-1.0.0"
	sum := buildPlugin(t, filepath.Join("..", "..", "examples", "suggestions"), dir, file)
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "clerk": ""}, func(c *config.Server) { c.PluginDir = dir })
	operator := env["COUNTYCLOUD_TOKEN"]

	if r := cli(t, env, "plugin", "register", file, "--sha256", strings.Repeat("0", 64)); r.code == 0 || !strings.Contains(r.stderr, "plugin_checksum_mismatch") {
		t.Fatalf("register with another checksum: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, env, "plugin", "register", "../"+file, "--sha256", sum); r.code == 0 || !strings.Contains(r.stderr, "invalid_plugin") {
		t.Fatalf("register a path: exit %d %s", r.code, r.stderr)
	}
	var entry host.Entry
	if err := json.Unmarshal([]byte(mustCLI(t, env, "plugin", "register", file, "--sha256", sum, "-o", "json")), &entry); err != nil {
		t.Fatal(err)
	}
	if entry.ID != "suggestions" || entry.Version != "1.0.0" || entry.SHA256 != sum || entry.Manifest.Name != "意见箱" {
		t.Fatalf("registered %+v", entry)
	}
	if r := cli(t, env, "plugin", "register", file, "--sha256", sum); r.code == 0 || !strings.Contains(r.stderr, "plugin_version_exists") {
		t.Fatalf("register twice: exit %d %s", r.code, r.stderr)
	}
	if out := mustCLI(t, env, "plugin", "list"); !strings.Contains(out, "suggestions") || !strings.Contains(out, "意见箱") {
		t.Fatalf("list:\n%s", out)
	}

	wy := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if r := cli(t, wy, "plugin", "enable", "suggestions", "--settings", `{"max_length": 5}`); r.code == 0 || !strings.Contains(r.stderr, "invalid_module_settings") {
		t.Fatalf("enable with settings the schema refuses: exit %d %s", r.code, r.stderr)
	}
	mustCLI(t, wy, "plugin", "enable", "suggestions", "--settings", `{"max_length": 300}`)
	if out := mustCLI(t, wy, "plugin", "modules"); !strings.Contains(out, "suggestions") || !strings.Contains(out, "true") {
		t.Fatalf("modules:\n%s", out)
	}

	people := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	lechang := loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	base := url + "/v1/tenants/gd.shaoguan.wengyuan/modules/suggestions"
	r := call(t, "POST", base+"/suggestions", people["clerk"], map[string]string{"text": "办事大厅增加自助终端"})
	want(t, "file a suggestion", r, 201, "")
	want(t, "file a suggestion marked 机密", call(t, "POST", base+"/suggestions", people["clerk"], map[string]string{"text": "【机密】关于调整机构的意见"}), 403, classified.CodeRefused)
	filed := decode[struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}](t, r)
	r = call(t, "GET", base+"/suggestions?status=open", people["clerk"], nil)
	if want(t, "list", r, 200, ""); !strings.Contains(string(r.body), "自助终端") {
		t.Fatalf("list: %s", r.body)
	}
	want(t, "a clerk answers", call(t, "POST", base+"/suggestions/"+filed.ID+"/answer", people["clerk"], map[string]any{"answer": "好", "version": filed.Version}), 403, "forbidden")
	want(t, "the admin answers", call(t, "POST", base+"/suggestions/"+filed.ID+"/answer", people["wyadmin"], map[string]any{"answer": "已安排", "version": filed.Version}), 200, "")
	want(t, "answering an old version", call(t, "POST", base+"/suggestions/"+filed.ID+"/answer", people["wyadmin"], map[string]any{"answer": "再答", "version": filed.Version}), 409, "conflict")

	// The county's use of the module, to its admin alone.
	r = call(t, "GET", base, people["wyadmin"], nil)
	if m := decode[host.Module](t, r); r.status != 200 || !m.Enabled || m.Version != "1.0.0" || string(m.Settings) != `{"max_length":300}` {
		t.Errorf("the module = %d %s", r.status, r.body)
	}
	want(t, "a clerk reads the module's settings", call(t, "GET", base, people["clerk"], nil), 403, "forbidden")
	want(t, "Lechang's admin reads Wengyuan's module", call(t, "GET", base, lechang, nil), 404, "tenant_not_found")

	// Lechang has not enabled the module, and cannot reach Wengyuan's.
	lcBase := url + "/v1/tenants/gd.shaoguan.lechang/modules/suggestions"
	want(t, "Lechang's module before enabling", call(t, "GET", lcBase, lechang, nil), 404, host.CodeModuleNotEnabled)
	want(t, "Lechang before enabling", call(t, "GET", lcBase+"/suggestions", lechang, nil), 404, host.CodeModuleNotEnabled)
	if r := call(t, "GET", base+"/suggestions", lechang, nil); r.status == 200 || strings.Contains(string(r.body), "自助终端") {
		t.Fatalf("Lechang's admin on Wengyuan's module: %d %s", r.status, r.body)
	}
	lc := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.lechang"}
	mustCLI(t, lc, "plugin", "enable", "suggestions")
	r = call(t, "GET", lcBase+"/suggestions", lechang, nil)
	if want(t, "Lechang's list", r, 200, ""); strings.Contains(string(r.body), "自助终端") {
		t.Fatalf("Lechang sees Wengyuan's suggestion: %s", r.body)
	}
	want(t, "Lechang reads Wengyuan's suggestion by id", call(t, "GET", lcBase+"/suggestions/"+filed.ID, lechang, nil), 404, "not_found")

	mustCLI(t, wy, "plugin", "disable", "suggestions")
	want(t, "after disabling", call(t, "GET", base+"/suggestions", people["clerk"], nil), 404, host.CodeModuleNotEnabled)
}

// rawCall sends body as it is, with no token: what a browser does with a
// signed file URL.
func rawCall(t testing.TB, method, url string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func TestVideoOnDemandThroughTheHost(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "clerk": ""})
	operator := env["COUNTYCLOUD_TOKEN"]
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county},
			"plugin", "enable", "vod", "--settings", `{"categories":["meetings","training"]}`)
	}
	people := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	lechang := loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	base := url + "/v1/tenants/gd.shaoguan.wengyuan/modules/vod"

	film := bytes.Repeat([]byte("0123456789"), 1000)
	r := call(t, "POST", base+"/videos", people["wyadmin"], map[string]any{"title": "全县安全生产工作会议", "category": "meetings", "duration_seconds": 5400,
		"file": map[string]any{"name": "meeting.mp4", "content_type": "video/mp4", "size": len(film)}})
	want(t, "create a video", r, 201, "")
	created := decode[struct {
		Video struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		} `json:"video"`
		Upload struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"upload"`
	}](t, r)
	id := created.Video.ID
	want(t, "a clerk creates a video", call(t, "POST", base+"/videos", people["clerk"], map[string]any{"title": "x", "category": "meetings", "duration_seconds": 1,
		"file": map[string]any{"name": "x.mp4", "content_type": "video/mp4", "size": 1}}), 403, "forbidden")
	want(t, "complete before the upload", call(t, "POST", base+"/videos/"+id+"/complete", people["wyadmin"], nil), 409, "upload_incomplete")
	if status, body := rawCall(t, created.Upload.Method, created.Upload.URL, film, map[string]string{"Content-Type": "video/mp4"}); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, body)
	}
	want(t, "complete", call(t, "POST", base+"/videos/"+id+"/complete", people["wyadmin"], nil), 200, "")

	r = call(t, "GET", base+"/videos?category=meetings", people["clerk"], nil)
	if want(t, "list", r, 200, ""); !strings.Contains(string(r.body), "安全生产") {
		t.Fatalf("list: %s", r.body)
	}
	r = call(t, "GET", base+"/videos/"+id+"/playback", people["clerk"], nil)
	want(t, "playback", r, 200, "")
	playback := decode[struct {
		URL string `json:"url"`
	}](t, r)
	if status, body := rawCall(t, "GET", playback.URL, nil, map[string]string{"Range": "bytes=10-19"}); status != 206 || string(body) != "0123456789" {
		t.Fatalf("ranged playback: %d %q", status, body)
	}
	for range 2 {
		want(t, "a view", call(t, "POST", base+"/videos/"+id+"/views", people["clerk"], nil), 200, "")
	}
	r = call(t, "GET", base+"/reports/views", people["wyadmin"], nil)
	if want(t, "report", r, 200, ""); !strings.Contains(string(r.body), `"clerk"`) {
		t.Fatalf("report: %s", r.body)
	}

	// Lechang runs the module too, and sees nothing of Wengyuan's.
	lcBase := url + "/v1/tenants/gd.shaoguan.lechang/modules/vod"
	want(t, "Lechang reads Wengyuan's video", call(t, "GET", lcBase+"/videos/"+id, lechang, nil), 404, "")
	want(t, "Lechang plays Wengyuan's video", call(t, "GET", lcBase+"/videos/"+id+"/playback", lechang, nil), 404, "")
	r = call(t, "GET", lcBase+"/videos", lechang, nil)
	if want(t, "Lechang's list", r, 200, ""); strings.Contains(string(r.body), id) {
		t.Fatalf("Lechang lists Wengyuan's video: %s", r.body)
	}
	if r := call(t, "GET", lcBase+"/reports/views", lechang, nil); strings.Contains(string(r.body), "clerk") {
		t.Fatalf("Lechang's report: %s", r.body)
	}

	var actions []string
	if err := db.Server.Select(&actions, "SELECT action FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.audit_log WHERE action LIKE 'vod.%' ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(actions, " ") != "vod.video.create vod.video.ready" {
		t.Fatalf("audit: %v", actions)
	}
}

// TestAModuleRouteTakesOnlyTheBodiesThePlatformsOwnRoutesTake: a module's
// body passes the checks of every JSON body before the module sees it,
// and a classified one is refused and audited as on any route.
func TestAModuleRouteTakesOnlyTheBodiesThePlatformsOwnRoutesTake(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"},
		"plugin", "enable", "vod", "--settings", `{"categories":["meetings"]}`)
	admin := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")["wyadmin"]
	base := url + "/v1/tenants/gd.shaoguan.wengyuan/modules/vod"
	video := func(title string) map[string]any {
		return map[string]any{"title": title, "category": "meetings", "duration_seconds": 60,
			"file": map[string]any{"name": "m.mp4", "content_type": "video/mp4", "size": 10}}
	}
	send := func(method, path, contentType string, body []byte) apiResult {
		t.Helper()
		status, got := rawCall(t, method, base+path, body, map[string]string{"Authorization": "Bearer " + admin, "Content-Type": contentType})
		return apiResult{status: status, body: got}
	}
	plain, _ := json.Marshal(video("全县安全生产工作会议"))

	for _, title := range []string{"【机密】全县安全生产工作会议", "★機密 全县会议", "会议纪要 密级：秘密", "绝密★长期 会议"} {
		want(t, "a video titled "+title, call(t, "POST", base+"/videos", admin, video(title)), 403, classified.CodeRefused)
	}
	dup := []byte(`{"title":"会议","category":"meetings","duration_seconds":60,"classification":"机密","classification":"公开","file":{"name":"m.mp4","content_type":"video/mp4","size":10}}`)
	want(t, "a classified value under a duplicate key", send("POST", "/videos", "application/json", dup), 403, classified.CodeRefused)
	want(t, "a body sent as text", send("POST", "/videos", "text/plain", plain), 415, errs.CodeUnsupportedMedia)
	want(t, "a body sent as a form", send("POST", "/videos", "application/x-www-form-urlencoded", plain), 415, errs.CodeUnsupportedMedia)
	want(t, "a body with a stray ]", send("POST", "/videos", "application/json", append(plain, ']')), 400, errs.CodeInvalidJSON)
	want(t, "a body that is not UTF-8", send("POST", "/videos", "application/json", bytes.Replace(plain, []byte("会议"), []byte{0xff, 0xfe}, 1)), 400, errs.CodeInvalidJSON)
	want(t, "a body over the limit", send("POST", "/videos", "application/json", append(plain, bytes.Repeat([]byte(" "), kit.MaxBodyBytes)...)), 413, errs.CodeBodyTooLarge)
	want(t, "a path that is not UTF-8", send("GET", "/videos/%FF", "", nil), 400, errs.CodeInvalidUTF8)
	want(t, "a query that is not UTF-8", send("GET", "/videos?category=%FF", "", nil), 400, errs.CodeInvalidUTF8)
	want(t, "a plain video", send("POST", "/videos", "application/json; charset=utf-8", plain), 201, "")

	schema := "`" + db.SchemaPrefix + "gd_shaoguan_wengyuan`"
	var kept []string
	if err := db.Server.Select(&kept, "SELECT CAST(document AS CHAR) FROM "+schema+".plugin_records WHERE plugin = 'vod'"); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || !strings.Contains(kept[0], "全县安全生产工作会议") {
		t.Errorf("the module kept %q; only the plain video should be", kept)
	}
	var refused []string
	if err := db.Server.Select(&refused, "SELECT action FROM "+schema+".audit_log WHERE outcome = 'refused' AND code = ? AND actor_login = 'wyadmin'", classified.CodeRefused); err != nil {
		t.Fatal(err)
	}
	if len(refused) != 5 || refused[0] != "module.write" {
		t.Errorf("the trail's classified refusals: %v, want 5 of module.write", refused)
	}
}

// TestMalformedInputIsRefusedBeforeAnyQuery: text the database would
// refuse, and bodies that are not one JSON value sent as JSON, are the
// caller's error (4xx), and change nothing.
func TestMalformedInputIsRefusedBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	admin := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")["wyadmin"]
	wy := url + "/v1/tenants/gd.shaoguan.wengyuan"
	send := func(method, url, contentType string, body []byte) apiResult {
		t.Helper()
		status, got := rawCall(t, method, url, body, map[string]string{"Authorization": "Bearer " + admin, "Content-Type": contentType})
		return apiResult{status: status, body: got}
	}
	want(t, "a county code that is not UTF-8", send("GET", url+"/v1/tenants/gd.shaoguan.%FF/units", "", nil), 400, errs.CodeInvalidUTF8)
	want(t, "an account filter that is not UTF-8", send("GET", wy+"/accounts?status=%E7%BF", "", nil), 400, errs.CodeInvalidUTF8)
	want(t, "an audit filter that is not UTF-8", send("GET", wy+"/audit?actor=%FF", "", nil), 400, errs.CodeInvalidUTF8)
	want(t, "a unit with a stray ]", send("POST", wy+"/units", "application/json", []byte(`{"name":"县档案馆"}]`)), 400, errs.CodeInvalidJSON)
	want(t, "a unit sent as text", send("POST", wy+"/units", "text/plain", []byte(`{"name":"县档案馆"}`)), 415, errs.CodeUnsupportedMedia)
	want(t, "a unit sent as a form", send("POST", wy+"/units", "application/x-www-form-urlencoded", []byte(`{"name":"县档案馆"}`)), 415, errs.CodeUnsupportedMedia)
	want(t, "a unit named in bytes that are not UTF-8", send("POST", wy+"/units", "application/json", []byte("{\"name\":\"县档案\xff\"}")), 400, errs.CodeInvalidJSON)
	want(t, "a unit named with a lone surrogate", send("POST", wy+"/units", "application/json", []byte(`{"name":"县档案\ud800"}`)), 400, errs.CodeInvalidJSON)
	units := decode[[]map[string]any](t, call(t, "GET", wy+"/units", admin, nil))
	if len(units) != 1 {
		t.Errorf("%d units after the refused bodies, want 1", len(units))
	}
	want(t, "a unit sent as JSON in UTF-8", send("POST", wy+"/units", "application/json; charset=utf-8", []byte(`{"name":"县档案馆"}`)), 201, "")
}

func TestACountyIsolatedPluginRunsAProcessPerCounty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const file = "suggestions-1.0.0"
	sum := buildPlugin(t, filepath.Join("..", "..", "examples", "suggestions"), dir, file)
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) { c.PluginDir = dir })
	operator := env["COUNTYCLOUD_TOKEN"]

	if r := cli(t, env, "plugin", "register", file, "--sha256", sum, "--isolation", "tenant"); r.code == 0 || !strings.Contains(r.stderr, "--isolation") {
		t.Fatalf("register with an unknown isolation: exit %d %s", r.code, r.stderr)
	}
	var entry host.Entry
	if err := json.Unmarshal([]byte(mustCLI(t, env, "plugin", "register", file, "--sha256", sum, "--isolation", "county", "-o", "json")), &entry); err != nil {
		t.Fatal(err)
	}
	if entry.Isolation != host.IsolationCounty {
		t.Fatalf("registered %+v", entry)
	}
	var entries []host.Entry
	if err := json.Unmarshal([]byte(mustCLI(t, env, "plugin", "list", "-o", "json")), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if want := map[bool]host.Isolation{true: host.IsolationCounty, false: host.IsolationShared}[e.ID == "suggestions"]; e.Isolation != want {
			t.Errorf("%s is listed %q, want %q", e.ID, e.Isolation, want)
		}
	}
	if out := mustCLI(t, env, "plugin", "list"); !strings.Contains(out, "ISOLATION") || !regexp.MustCompile(`suggestions .* county `).MatchString(out) {
		t.Fatalf("list:\n%s", out)
	}

	counties := map[string]string{
		"gd.shaoguan.wengyuan": loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")["wyadmin"],
		"gd.shaoguan.lechang":  loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"],
	}
	for county, token := range counties {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "suggestions")
		want(t, "list in "+county, call(t, "GET", url+"/v1/tenants/"+county+"/modules/suggestions/suggestions", token, nil), 200, "")
	}
	var procs []host.Status
	if err := json.Unmarshal([]byte(mustCLI(t, env, "plugin", "processes", "-o", "json")), &procs); err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, p := range procs {
		if p.Plugin == "suggestions" && p.Running {
			pids[p.County] = p.PID
		}
	}
	if len(pids) != 2 || pids["gd.shaoguan.wengyuan"] == 0 || pids["gd.shaoguan.wengyuan"] == pids["gd.shaoguan.lechang"] {
		t.Fatalf("processes %+v, want one per county", procs)
	}
	if out := mustCLI(t, env, "plugin", "processes"); !strings.Contains(out, "COUNTY") || !strings.Contains(out, "gd.shaoguan.lechang") {
		t.Fatalf("processes:\n%s", out)
	}
}

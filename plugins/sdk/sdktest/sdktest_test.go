package sdktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// echoed is what the test module answers.
type echoed struct {
	Method   string          `json:"method"`
	Settings json.RawMessage `json:"settings"`
	Path     string          `json:"path"`
	Query    string          `json:"query"`
	Body     string          `json:"body"`
	Login    string          `json:"login"`
	Unit     int64           `json:"unit"`
	Roles    []string        `json:"roles"`
	PID      int             `json:"pid"`
}

func TestAModuleIsBuiltEnabledAndCalledAsEachAccount(t *testing.T) {
	t.Parallel()
	h := Start(t, Options{
		Package:  "./testdata/echo",
		Settings: map[string]string{"greeting": "你好"},
		Accounts: map[string][]string{"admin": {"system_admin"}, "clerk": {"clerk"}, "staff": nil},
		Units:    map[string]map[string][]string{"县民政局": {"mzclerk": {"clerk"}, "mzleader": {"leader"}}},
	})
	mz := h.UnitIDs["县民政局"]
	if h.Module != "echo" || h.Version != "0.1.0" || h.County != DefaultCounty || h.UnitID == 0 || mz == 0 || mz == h.UnitID {
		t.Fatalf("host %+v", h)
	}
	for login, roles := range map[string][]string{"mzclerk": {"clerk"}, "mzleader": {"leader"}} {
		var got echoed
		if h.As(t, login).Call(t, "GET", "/who", nil).Decode(t, &got); got.Login != login || got.Unit != mz || !slices.Equal(got.Roles, roles) {
			t.Errorf("%s of 县民政局: the module saw %+v", login, got)
		}
	}

	for login, roles := range map[string][]string{"admin": {"system_admin"}, "clerk": {"clerk"}, "staff": nil} {
		r := h.As(t, login).Call(t, "POST", "/things/1?x=y", map[string]int{"n": 1})
		if r.Status != 200 {
			t.Fatalf("%s: %v", login, r)
		}
		var got echoed
		r.Decode(t, &got)
		if got.Method != "POST" || got.Path != "/things/1" || got.Query != "x=y" || got.Body != `{"n":1}` ||
			got.Login != login || got.Unit != h.UnitID || !slices.Equal(got.Roles, roles) {
			t.Errorf("%s: the module saw %+v", login, got)
		}
	}

	raw := h.As(t, "clerk").Call(t, "PUT", "/raw", []byte(`{ "n" : 1 }`))
	var got echoed
	if raw.Decode(t, &got); got.Body != `{ "n" : 1 }` || string(got.Settings) != `{"greeting":"你好"}` {
		t.Errorf("a []byte body arrived as %q, the settings as %s", got.Body, got.Settings)
	}
	if r := h.As(t, "clerk").Call(t, "PUT", "/raw", []byte("not json")); r.Status != 400 || r.Code != "invalid_json" {
		t.Errorf("a body that is not JSON: %v", r)
	}

	// The host's file URLs lead back to it.
	var upload struct {
		URL string `json:"url"`
	}
	h.As(t, "clerk").Call(t, "POST", "/upload", nil).Decode(t, &upload)
	req, err := http.NewRequest(http.MethodPut, upload.URL, strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload to %s: %v", upload.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("upload to %s: %s", upload.URL, resp.Status)
	}
	if r := h.As(t, "clerk").Call(t, "GET", "/fail", nil); r.Status != 503 || r.Code != "module_failed" {
		t.Errorf("a module's error: %v", r)
	}
	if r := h.Operator().API(t, "GET", "/v1/tenants/"+h.County+"/modules", nil); r.Status != 200 || r.Code != "" {
		t.Errorf("the operator lists the county's modules: %v", r)
	}
	if r := h.As(t, "clerk").API(t, "GET", "/v1/tenants/"+h.County+"/modules", nil); r.Status != 403 || r.Code != "forbidden" {
		t.Errorf("a clerk lists the county's modules: %v", r)
	}

	// An account logs in again when its access token is about to expire.
	c := h.As(t, "clerk")
	c.mu.Lock()
	stale := c.token
	c.expires = time.Now()
	c.mu.Unlock()
	if r := c.Call(t, "GET", "/again", nil); r.Status != 200 {
		t.Fatalf("after the token expired: %v", r)
	}
	if c.token == stale {
		t.Error("the expired token was used again")
	}
}

func TestABuiltPluginRunsOnAnotherCountyAndStopsWithTheTest(t *testing.T) {
	t.Parallel()
	plugin := filepath.Join(t.TempDir(), "echo-0.1.0")
	if out, err := exec.Command("go", "build", "-o", plugin, "./testdata/echo").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var pid int
	t.Run("host", func(t *testing.T) {
		h := Start(t, Options{Plugin: plugin, County: "bj.haidian", Accounts: map[string][]string{"staff": nil}})
		r := h.As(t, "staff").Call(t, "GET", "/", nil)
		if r.Status != 200 {
			t.Fatalf("call: %v", r)
		}
		var got echoed
		r.Decode(t, &got)
		pid = got.PID
		if _, err := os.Stat(filepath.Join(h.PluginDir, "echo-0.1.0")); err != nil {
			t.Errorf("the plugin is not in the plugin directory under its own name: %v", err)
		}
	})
	if pid == 0 || runtime.GOOS != "linux" {
		return
	}
	// The server is gone: its plugin process must be too (it may take a
	// moment to die).
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d outlived its host", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive says whether process pid runs: it exists and is not a zombie,
// which only waits for whoever adopted it to reap it.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command, which is in parentheses.
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

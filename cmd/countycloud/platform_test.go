package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/registry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startPlatform runs the server's wiring in-process on the test's own
// schemas and returns its URL and a channel of announced tokens.
func startPlatform(t testing.TB, db *storetest.DB, dbcfg *mysql.Config, log *slog.Logger, tune ...func(*config.Server)) (*platform, string, chan string) {
	t.Helper()
	tokens := make(chan string, 4)
	cfg := config.Server{
		Database:        config.Database{SchemaPrefix: db.SchemaPrefix, DBMaxOpenConns: 8, ProvisionConcurrency: 4},
		ShutdownTimeout: time.Second,
	}
	for _, f := range tune {
		f(&cfg)
	}
	// The listener first, so that the modules' file URLs name it.
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.FileDir, cfg.FileSigningKey = t.TempDir(), rand.Text()+rand.Text()
	if cfg.SealKey == "" {
		// Every replica of a platform keeps seals under the same key, as
		// the control plane checks; the schemas are the test's own.
		cfg.SealKey = "the tests' seal key, the same on every replica"
	}
	p, err := newPlatform(cfg, dbcfg, log, func(tok string) { tokens <- tok })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	srv.Config.Handler = p.handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return p, srv.URL, tokens
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func cli(t testing.TB, env map[string]string, args ...string) cliResult {
	t.Helper()
	return cliWithInput(t, "", env, args...)
}

// cliWithInput runs a command reading stdin from input.
func cliWithInput(t testing.TB, input string, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWithInput(context.Background(), args, strings.NewReader(input), &out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return cliResult{out.String(), errb.String(), code}
}

func TestAPIThroughTheCLI(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	p, url, tokens := startPlatform(t, db, db.Config, quiet)
	ctx := context.Background()
	if err := p.start(ctx); err != nil {
		t.Fatal(err)
	}
	token := <-tokens
	if err := p.start(ctx); err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 0 {
		t.Fatal("the bootstrap token was announced twice")
	}

	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer " + token + "x"} {
		req, _ := http.NewRequest("GET", url+"/v1/tenants", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb struct{ Error struct{ Code string } }
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != 401 || (eb.Error.Code != "unauthenticated" && eb.Error.Code != "token_invalid") || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d %q", auth, resp.StatusCode, eb.Error.Code)
		}
	}

	env := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": token}
	for _, args := range [][]string{
		{"tenant", "create", "--code", "gd", "--name", "广东省"},
		{"tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市"},
		{"tenant", "create", "-code", "gd.shaoguan.wengyuan", "-name", "翁源县"},
	} {
		if r := cli(t, env, args...); r.code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	r := cli(t, env, "tenant", "list", "-o", "json")
	var listed []registry.Tenant
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || r.code != 0 {
		t.Fatalf("list -o json: %v %d %s", err, r.code, r.stdout)
	}
	if len(listed) != 3 || listed[2].Code != "gd.shaoguan.wengyuan" || listed[2].Status != registry.StatusReady ||
		listed[2].Schema != db.SchemaPrefix+"gd_shaoguan_wengyuan" {
		t.Errorf("listed %+v", listed)
	}
	if r := cli(t, env, "tenant", "list"); !strings.Contains(r.stdout, "翁源县") || !strings.Contains(r.stdout, "STATUS") {
		t.Errorf("table:\n%s", r.stdout)
	}

	cases := []struct {
		args []string
		env  map[string]string
		code int
		say  string
	}{
		{[]string{"tenant", "get", "gd.nowhere"}, env, exitNotFound, "tenant_not_found"},
		{[]string{"tenant", "create", "--code", "GD", "--name", "x"}, env, exitFailed, "invalid_tenant_code"},
		{[]string{"tenant", "create", "--code", "gd.shaoguan.lechang", "--name", ""}, env, exitFailed, "invalid_tenant_name"},
		{[]string{"tenant", "archive", "gd.shaoguan"}, env, exitFailed, "has_active_children"},
		{[]string{"tenant", "retry", "gd.shaoguan.wengyuan"}, env, exitFailed, "not_retryable"},
		{[]string{"tenant", "create", "--code", "gd.x"}, env, exitUsage, "--name"},
		{[]string{"tenant", "get"}, env, exitUsage, "one tenant code"},
		{[]string{"tenant", "update", "gd"}, env, exitUsage, "nothing to change"},
		{[]string{"tenant", "list", "--bogus"}, env, exitUsage, "unknown flag"},
		{[]string{"tenant", "list", "-o", "yaml"}, env, exitUsage, "table or json"},
		{[]string{"tenant", "list"}, map[string]string{"COUNTYCLOUD_ADDR": url}, exitUsage, "COUNTYCLOUD_TOKEN"},
		{[]string{"tenant", "list"}, map[string]string{"COUNTYCLOUD_ADDR": "http://127.0.0.1:1", "COUNTYCLOUD_TOKEN": token}, exitUnavailable, "cannot reach"},
		{[]string{"tenant", "list"}, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": "nope"}, exitFailed, "token_invalid"},
		{[]string{"nonsense"}, env, exitUsage, "unknown command"},
		{[]string{"server"}, map[string]string{}, exitUsage, "--mysql-dsn (COUNTYCLOUD_MYSQL_DSN): is required"},
		{[]string{"server", "--mysql-dsn", "root@localhost"}, map[string]string{}, exitUsage, "not a valid DSN"},
	}
	for _, c := range cases {
		r := cli(t, c.env, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", c.args, r.code, r.stderr, c.code, c.say)
		}
	}

	r = cli(t, env, "tenant", "get", "gd.nowhere", "-o", "json")
	var eb struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(r.stderr), &eb); err != nil || eb.Error.Code != "tenant_not_found" || r.code != exitNotFound {
		t.Errorf("-o json error: %v %q exit %d", err, r.stderr, r.code)
	}

	r = cli(t, env, "tenant", "update", "gd.shaoguan.wengyuan", "--status", "suspended", "-o", "json")
	var tn registry.Tenant
	if err := json.Unmarshal([]byte(r.stdout), &tn); err != nil || tn.Status != registry.StatusSuspended {
		t.Errorf("update: %v %+v %s", err, tn, r.stderr)
	}
	// Only the CLI's own settings come from the environment.
	leaky := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": token, "COUNTYCLOUD_STATUS": "archived", "COUNTYCLOUD_LEVEL": "city"}
	r = cli(t, leaky, "tenant", "update", "gd.shaoguan.wengyuan", "--name", "翁源县", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &tn); err != nil || tn.Status != registry.StatusSuspended {
		t.Errorf("COUNTYCLOUD_STATUS leaked into --status: %+v %s", tn, r.stderr)
	}
	if r := cli(t, leaky, "tenant", "list", "-o", "json"); strings.Count(r.stdout, `"code"`) != 3 {
		t.Errorf("COUNTYCLOUD_LEVEL leaked into --level:\n%s", r.stdout)
	}

	r = cli(t, env, "tenant", "archive", "gd.shaoguan.wengyuan")
	if r.code != 0 || !strings.Contains(r.stdout, "archived") {
		t.Errorf("archive: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// startedPlatform is a platform brought up on the test's schemas, with an
// environment for the CLI to reach it.
func startedPlatform(t *testing.T, log *slog.Logger) (*storetest.DB, string, map[string]string) {
	db, _, url, env := startedPlatformWith(t, log)
	return db, url, env
}

func startedPlatformWith(t testing.TB, log *slog.Logger, tune ...func(*config.Server)) (*storetest.DB, *platform, string, map[string]string) {
	t.Helper()
	db := storetest.New(t)
	p, url, tokens := startPlatform(t, db, db.Config, log, tune...)
	if err := p.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, p, url, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": <-tokens}
}

func mustCLI(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	r := cli(t, env, args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// TestAFailedCountyShowsWhyAndIsRetried breaks a county's provisioning for
// real (a table in its way) and follows it through the API.
func TestAFailedCountyShowsWhyAndIsRetried(t *testing.T) {
	t.Parallel()
	db, _, env := startedPlatform(t, quiet)
	mustCLI(t, env, "tenant", "create", "--code", "gd", "--name", "广东省")
	mustCLI(t, env, "tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市")
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	if _, err := db.Server.Exec("CREATE DATABASE `" + schema + "`"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Server.Exec("CREATE TABLE `" + schema + "`.roles (unexpected INT)"); err != nil {
		t.Fatal(err)
	}
	r := cli(t, env, "tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县")
	if r.code != exitFailed || !strings.Contains(r.stdout, "failed") || !strings.Contains(r.stderr, "tenant retry gd.shaoguan.wengyuan") {
		t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var tn registry.Tenant
	if err := json.Unmarshal([]byte(mustCLI(t, env, "tenant", "get", "gd.shaoguan.wengyuan", "-o", "json")), &tn); err != nil {
		t.Fatal(err)
	}
	if tn.Status != registry.StatusFailed || !strings.Contains(tn.Failure, "roles") {
		t.Fatalf("the API shows %+v", tn)
	}
	// The operator removes what was in the way.
	if _, err := db.Server.Exec("DROP DATABASE `" + schema + "`"); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, env, "tenant", "retry", "gd.shaoguan.wengyuan", "-o", "json"); !strings.Contains(out, `"status": "ready"`) {
		t.Errorf("retry:\n%s", out)
	}
}

func TestListPagesOverHTTP(t *testing.T) {
	t.Parallel()
	_, url, env := startedPlatform(t, quiet)
	for _, code := range []string{"gd", "gx", "hn"} {
		mustCLI(t, env, "tenant", "create", "--code", code, "--name", code)
	}
	get := func(query string) (int, registry.Page, string) {
		req, _ := http.NewRequest("GET", url+"/v1/tenants?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+env["COUNTYCLOUD_TOKEN"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var page registry.Page
		_ = json.Unmarshal(body, &page)
		return resp.StatusCode, page, string(body)
	}
	var codes []string
	query := "limit=2"
	for {
		status, page, body := get(query)
		if status != 200 {
			t.Fatalf("%s: %d %s", query, status, body)
		}
		for _, tn := range page.Tenants {
			codes = append(codes, tn.Code)
		}
		if page.NextCursor == "" {
			break
		}
		query = "limit=2&cursor=" + page.NextCursor
	}
	if strings.Join(codes, ",") != "gd,gx,hn" {
		t.Errorf("paged through %v", codes)
	}
	for _, q := range []string{"limit=abc", "limit=1000", "cursor=bm90LWEtY29kZQ", "status=gone"} {
		if status, _, body := get(q); status != 400 || !strings.Contains(body, "invalid_list_request") {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
}

// syncBuffer is a log sink the server writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsCarryTheRequestID(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	_, url, env := startedPlatform(t, slog.New(kit.LogHandler{Handler: slog.NewJSONHandler(&logs, nil)}))
	mustCLI(t, env, "tenant", "create", "--code", "gd", "--name", "广东省")
	mustCLI(t, env, "tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市")
	req, _ := http.NewRequest("POST", url+"/v1/tenants", strings.NewReader(`{"code":"gd.shaoguan.wengyuan","name":"翁源县"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+env["COUNTYCLOUD_TOKEN"])
	req.Header.Set(kit.RequestIDHeader, "req-wengyuan-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get(kit.RequestIDHeader) != "req-wengyuan-1" {
		t.Fatalf("create: %d, request id %q", resp.StatusCode, resp.Header.Get(kit.RequestIDHeader))
	}
	var tagged []string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.RequestID == "req-wengyuan-1" {
			tagged = append(tagged, rec.Msg)
		}
	}
	for _, want := range []string{"provisioning county", "county ready", "request"} {
		if !slices.Contains(tagged, want) {
			t.Errorf("no %q line with the request id; tagged lines: %v", want, tagged)
		}
	}
}

// TestAClientThatGivesUpDoesNotFailTheCounty holds the tenants table so
// that a create outlasts the CLI's --timeout: the CLI says so, and the
// county is provisioned all the same.
func TestAClientThatGivesUpDoesNotFailTheCounty(t *testing.T) {
	t.Parallel()
	db, _, env := startedPlatform(t, quiet)
	mustCLI(t, env, "tenant", "create", "--code", "gd", "--name", "广东省")
	mustCLI(t, env, "tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市")
	holder, err := db.Control.Connx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(context.Background(), "LOCK TABLES tenants WRITE"); err != nil {
		t.Fatal(err)
	}
	r := cli(t, env, "tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县", "--timeout", "300ms")
	if r.code != exitUnknown || !strings.Contains(r.stderr, "may still complete") {
		t.Errorf("create that timed out: exit %d %s", r.code, r.stderr)
	}
	if _, err := holder.ExecContext(context.Background(), "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var tn registry.Tenant
		r := cli(t, env, "tenant", "get", "gd.shaoguan.wengyuan", "-o", "json")
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &tn) == nil && tn.Status == registry.StatusReady {
			break
		}
		if time.Now().After(deadline) || tn.Status == registry.StatusFailed {
			t.Fatalf("the county never got ready: %+v %s", tn, r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEveryCommandHasHelp walks the command tree, so that a new command
// is covered without anyone remembering to.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		r := cli(t, nil, append(path, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || cmd.Short == "" {
			t.Errorf("%v --help: exit %d, short %q\n%s%s", path, r.code, cmd.Short, r.stdout, r.stderr)
		}
		for _, sub := range cmd.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub, append(append([]string{}, path...), sub.Name()))
			}
		}
	}
	walk(newRootCmd(env{stdout: io.Discard, stderr: io.Discard}), nil)
	if r := cli(t, nil, "tenant", "retry", "-help"); r.code != 0 {
		t.Errorf("-help with one dash: exit %d", r.code)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for getStatus(t, url) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d", url, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServerRidesOutADatabaseOutage starts the platform with its database
// down, then takes the database away and back again: the server stays up,
// says it is not ready, and recovers by itself.
func TestServerRidesOutADatabaseOutage(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	proxy := storetest.NewProxy(t, db.Config.Addr, false)
	viaProxy := db.Config.Clone()
	viaProxy.Addr = proxy.Addr()
	viaProxy.Timeout = time.Second
	p, url, tokens := startPlatform(t, db, viaProxy, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- retry(ctx, quiet, "start-up", p.start) }()

	if s := getStatus(t, url+"/healthz"); s != 200 {
		t.Errorf("healthz with the database down: %d", s)
	}
	if s := getStatus(t, url+"/readyz"); s != 503 {
		t.Errorf("readyz with the database down: %d", s)
	}
	proxy.SetUp(true)
	if err := <-started; err != nil {
		t.Fatalf("start-up: %v", err)
	}
	waitStatus(t, url+"/readyz", 200)
	token := <-tokens
	env := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": token}
	if r := cli(t, env, "tenant", "create", "--code", "gd", "--name", "广东省"); r.code != 0 {
		t.Fatalf("create: %s", r.stderr)
	}

	proxy.SetUp(false)
	waitStatus(t, url+"/readyz", 503)
	if r := cli(t, env, "tenant", "get", "gd"); r.code != exitUnavailable || !strings.Contains(r.stderr, "database_unavailable") {
		t.Errorf("get while the database is down: exit %d %s", r.code, r.stderr)
	}
	proxy.SetUp(true)
	waitStatus(t, url+"/readyz", 200)
	if r := cli(t, env, "tenant", "get", "gd", "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, "广东省") {
		t.Errorf("get after recovery: exit %d %s", r.code, r.stderr)
	}
}

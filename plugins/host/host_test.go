package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-plugin"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
	// pluginEnv makes the test binary serve the notes module instead of
	// running the tests: the host launches it as a real plugin process.
	pluginEnv = "COUNTYCLOUD_TEST_PLUGIN"
	// pluginIDEnv has the notes plugin report another id, to stand for a
	// second plugin.
	pluginIDEnv = "COUNTYCLOUD_TEST_PLUGIN_ID"
	// pluginVersionEnv has it report another version.
	pluginVersionEnv = "COUNTYCLOUD_TEST_PLUGIN_VERSION"
	// pluginIndexedEnv has it index other fields of its notes: those
	// listed, separated by commas (none if empty), as a version that
	// changes its index would.
	pluginIndexedEnv = "COUNTYCLOUD_TEST_PLUGIN_INDEXED"
	// pluginNameEnv has it report another name.
	pluginNameEnv = "COUNTYCLOUD_TEST_PLUGIN_NAME"
	// pluginVendorEnv has it report another vendor.
	pluginVendorEnv = "COUNTYCLOUD_TEST_PLUGIN_VENDOR"
)

var notesManifest = sdk.Manifest{ID: "notes", Name: "笔记", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Collections: map[string]sdk.Collection{"notes": {Indexed: []string{"unit"}}}}

func TestMain(m *testing.M) {
	switch os.Getenv(pluginEnv) {
	case "notes":
		m := notesManifest
		if id := os.Getenv(pluginIDEnv); id != "" {
			m.ID = id
		}
		if v := os.Getenv(pluginVersionEnv); v != "" {
			m.Version = v
		}
		if name := os.Getenv(pluginNameEnv); name != "" {
			m.Name = name
		}
		if vendor := os.Getenv(pluginVendorEnv); vendor != "" {
			m.Vendor = vendor
		}
		if fields, ok := os.LookupEnv(pluginIndexedEnv); ok {
			m.Collections = map[string]sdk.Collection{"notes": {Indexed: strings.FieldsFunc(fields, func(r rune) bool { return r == ',' })}}
		}
		sdk.Serve(m, &notes{version: m.Version})
		return
	case "host":
		// A host that launches the notes plugin and waits to be killed.
		hostUntilKilled()
		return
	case "hostile":
		serveHostile()
		return
	case "bare":
		// go-plugin with nothing of the SDK or the host: the benchmarks'
		// baseline.
		serveBare()
		return
	case "escape":
		// A plugin that tries to get out of its sandbox.
		serveEscape()
		return
	case "escape-child":
		// What the escaping plugin starts: it waits to be killed.
		time.Sleep(time.Minute)
		return
	case "future":
		// A plugin built against a protocol this host does not speak.
		handshake := sdk.Handshake()
		handshake.ProtocolVersion++
		plugin.Serve(&plugin.ServeConfig{HandshakeConfig: handshake, Plugins: plugin.PluginSet{}, GRPCServer: plugin.DefaultGRPCServer})
		return
	}
	os.Exit(m.Run())
}

// notes is the test module: it keeps notes through the host's records,
// and misbehaves on request.
type notes struct {
	version string
	mu      sync.Mutex
	kept    *sdk.Host
	// seen is every request body this process was given, as a plugin
	// that keeps what passes through it would.
	seen []string
}

func (n *notes) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	fail := func(err error) (*sdk.Response, error) {
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	answer := func(rec sdk.Record, err error) (*sdk.Response, error) {
		if err != nil {
			return fail(err)
		}
		body, _ := json.Marshal(rec)
		return &sdk.Response{Body: body}, nil
	}
	if len(r.Body) > 0 {
		n.mu.Lock()
		n.seen = append(n.seen, string(r.Body))
		n.mu.Unlock()
	}
	id := strings.TrimPrefix(r.Path, "/notes/")
	switch {
	case r.Method == "PUT":
		return answer(r.Host.Put(ctx, "notes", id, 0, json.RawMessage(r.Body)))
	case r.Method == "GET" && r.Path == "/notes" && r.Query != "":
		field, value, _ := strings.Cut(r.Query, "=")
		page, err := r.Host.Query(ctx, "notes", sdk.Query{Where: map[string]string{field: value}})
		if err != nil {
			return fail(err)
		}
		body, _ := json.Marshal(page.Records)
		return &sdk.Response{Body: body}, nil
	case r.Method == "GET" && strings.HasPrefix(r.Path, "/notes/"):
		return answer(r.Host.Get(ctx, "notes", id))
	case r.Path == "/keep":
		// Keeps this request's host services, to try them later from
		// another county's request.
		n.mu.Lock()
		n.kept = r.Host
		n.mu.Unlock()
		return &sdk.Response{Status: 204}, nil
	case r.Path == "/echo":
		return &sdk.Response{Body: r.Body}, nil
	case r.Path == "/answer":
		// Answers what the request asks for, headers and all, as a
		// module that tries the platform's origin would. The headers
		// come as name and value pairs: names differing only in case
		// would be one member named twice, which the host refuses.
		var a struct {
			Status int         `json:"status"`
			Header [][2]string `json:"header"`
			Body   string      `json:"body"`
		}
		if err := json.Unmarshal(r.Body, &a); err != nil {
			return fail(err)
		}
		header := map[string]string{}
		for _, h := range a.Header {
			header[h[0]] = h[1]
		}
		return &sdk.Response{Status: a.Status, Header: header, Body: []byte(a.Body)}, nil
	case r.Path == "/print":
		fmt.Println("一行到标准输出")
		fmt.Fprintln(os.Stderr, "and one to stderr")
		return &sdk.Response{Status: 204}, nil
	case r.Path == "/env":
		return &sdk.Response{Body: []byte(strings.Join(os.Environ(), "\n"))}, nil
	case r.Path == "/get":
		// One host-service call: the benchmarks' record.
		rec, err := r.Host.Get(ctx, "notes", "bench")
		if err != nil {
			return nil, err
		}
		return &sdk.Response{Body: rec.Document}, nil
	case r.Path == "/seen":
		n.mu.Lock()
		defer n.mu.Unlock()
		return &sdk.Response{Body: []byte(strings.Join(n.seen, "\n"))}, nil
	case r.Path == "/with-capability":
		// A plugin that got hold of another request's capability (the
		// body) and calls the host with it instead of its own.
		h := *r.Host
		field := reflect.ValueOf(&h).Elem().FieldByName("capability")
		reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().SetString(string(r.Body))
		return answer(h.Get(ctx, "notes", "secret"))
	case r.Path == "/version":
		return &sdk.Response{Body: []byte(n.version)}, nil
	case r.Path == "/crash":
		// Dies in the middle of the request, as a faulty plugin would.
		os.Exit(3)
	case r.Path == "/hang":
		<-ctx.Done()
		return nil, ctx.Err()
	case strings.HasPrefix(r.Path, "/replay/"):
		n.mu.Lock()
		kept := n.kept
		n.mu.Unlock()
		return answer(kept.Get(ctx, "notes", strings.TrimPrefix(r.Path, "/replay/")))
	}
	return &sdk.Response{Status: 404}, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	db   *storetest.DB
	deps host.Deps
	bin  host.Binary
}

func setup(t testing.TB) fixture {
	t.Helper()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	caps := host.NewCapabilities(time.Minute, time.Now)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(self)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{
		db:   db,
		deps: host.Deps{Capabilities: caps, Router: provisiontest.Router(db, registry.LocatorInterval), Log: quiet, Now: time.Now},
		bin:  host.Binary{Path: self, SHA256: sum, Manifest: notesManifest, Env: []string{pluginEnv + "=notes"}},
	}
}

func launch(t *testing.T, f fixture) *host.Process {
	t.Helper()
	p, err := host.Launch(context.Background(), f.bin, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func call(t *testing.T, p *host.Process, county, method, path, query, body string) (int, string) {
	t.Helper()
	resp, err := p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Query: query, Body: []byte(body), RequestId: t.Name() + method + path})
	if err != nil {
		t.Fatalf("%s %s in %s: %v", method, path, county, err)
	}
	return int(resp.GetStatus()), string(resp.GetBody())
}

func TestAPluginKeepsRecordsInTheCountyOfEachRequest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launch(t, f)
	if status, body := call(t, p, wengyuan, "PUT", "/notes/n1", "", `{"unit":"办公室","text":"翁源的笔记"}`); status != 200 || !strings.Contains(body, `"version":1`) {
		t.Fatalf("put = %d %s", status, body)
	}
	if status, body := call(t, p, wengyuan, "GET", "/notes/n1", "", ""); status != 200 || !strings.Contains(body, "翁源的笔记") {
		t.Fatalf("get in Wengyuan = %d %s", status, body)
	}
	if status, body := call(t, p, wengyuan, "GET", "/notes", "unit=办公室", ""); status != 200 || !strings.Contains(body, `"id":"n1"`) {
		t.Fatalf("query in Wengyuan = %d %s", status, body)
	}
	// Lechang, served by the same process, sees none of it.
	if status, body := call(t, p, lechang, "GET", "/notes/n1", "", ""); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Fatalf("get in Lechang = %d %s, want not found", status, body)
	}
	if status, body := call(t, p, lechang, "GET", "/notes", "unit=办公室", ""); status != 200 || body != "[]" {
		t.Fatalf("query in Lechang = %d %s, want nothing", status, body)
	}
	if status, body := call(t, p, wengyuan, "PUT", "/notes/n1", "", `{"text":"again"}`); status != 400 || !strings.HasPrefix(body, "changed meanwhile") {
		t.Fatalf("second create = %d %s, want a conflict", status, body)
	}
	if status, body := call(t, p, wengyuan, "GET", "/notes", "text=again", ""); status != 400 || !strings.Contains(body, "not indexed") {
		t.Fatalf("query on a field not indexed = %d %s", status, body)
	}
}

func TestAPluginSeesNoneOfTheHostsEnvironment(t *testing.T) {
	// Not parallel: t.Setenv sets the whole test process's environment.
	t.Setenv("COUNTYCLOUD_MYSQL_DSN", "root:secret@tcp(db:3306)/countycloud")
	f := setup(t)
	p := launch(t, f)
	status, body := call(t, p, wengyuan, "GET", "/env", "", "")
	if status != 200 || strings.Contains(body, "secret") || !strings.Contains(body, pluginEnv+"=notes") {
		t.Fatalf("the plugin's environment: %d\n%s", status, body)
	}
}

func TestACapabilityKeptByAPluginIsUselessAfterItsRequest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launch(t, f)
	call(t, p, wengyuan, "PUT", "/notes/secret", "", `{"text":"翁源的秘密"}`)
	call(t, p, wengyuan, "POST", "/keep", "", "")
	status, body := call(t, p, lechang, "GET", "/replay/secret", "", "")
	if status != 400 || !strings.HasPrefix(body, "denied") || strings.Contains(body, "秘密") {
		t.Fatalf("replaying Wengyuan's capability in Lechang's request = %d %s, want denied", status, body)
	}
}

func TestCapabilitiesRefuseForgedExpiredAndRevokedTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	caps := host.NewCapabilities(time.Minute, func() time.Time { return now })
	clerk := audit.Actor{Kind: "account", Login: "clerk1"}
	token, revoke := caps.Issue(wengyuan, "notes", "r1", clerk)
	if c, err := caps.Check(token); err != nil || c.County != wengyuan || c.Plugin != "notes" || c.Caller != clerk {
		t.Fatalf("check = %+v, %v", c, err)
	}
	other := host.NewCapabilities(time.Minute, time.Now)
	elsewhere, revokeElsewhere := other.Issue(lechang, "notes", "r1", clerk)
	defer revokeElsewhere()
	for name, bad := range map[string]string{
		"issued by another host": elsewhere,
		"one character changed":  token[:len(token)-1] + string(token[len(token)-1]^1),
		"without its prefix":     strings.TrimPrefix(token, "cc1."),
		"empty":                  "",
	} {
		if _, err := caps.Check(bad); !errors.Is(err, host.ErrCapability) {
			t.Errorf("%s: check = %v, want ErrCapability", name, err)
		}
	}
	now = now.Add(time.Minute)
	if _, err := caps.Check(token); !errors.Is(err, host.ErrCapability) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: check = %v", err)
	}
	now = now.Add(-time.Minute)
	revoke()
	if _, err := caps.Check(token); !errors.Is(err, host.ErrCapability) || !strings.Contains(err.Error(), "over") {
		t.Errorf("revoked: check = %v", err)
	}
}

func TestABinaryThatIsNotTheOneRegisteredDoesNotLaunch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bin.SHA256 = make([]byte, 32)
	if _, err := host.Launch(context.Background(), f.bin, f.deps); !errors.Is(err, host.ErrChecksum) {
		t.Fatalf("launch = %v, want ErrChecksum", err)
	}
}

func TestAPluginThatIsNotTheOneRegisteredIsStopped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bin.Manifest.Version = "2.0.0"
	_, err := host.Launch(context.Background(), f.bin, f.deps)
	if !errors.Is(err, host.ErrProtocol) || !strings.Contains(err.Error(), "says it is notes 1.0.0") {
		t.Fatalf("launch = %v, want ErrProtocol naming the version", err)
	}
}

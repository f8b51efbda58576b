package web

import (
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
)

// verbs are the formatting verbs of a message, in order.
var verbs = regexp.MustCompile(`%[a-z]`)

func TestEveryMessageHasBothLanguages(t *testing.T) {
	t.Parallel()
	for key, m := range catalogue() {
		if strings.TrimSpace(m.ZH) == "" || strings.TrimSpace(m.EN) == "" {
			t.Errorf("%s lacks a translation: %+v", key, m)
		}
		if zh, en := verbs.FindAllString(m.ZH, -1), verbs.FindAllString(m.EN, -1); !slices.Equal(zh, en) {
			t.Errorf("%s takes %v in Chinese and %v in English", key, zh, en)
		}
	}
}

// TestEveryTemplateKeyIsInTheCatalogue holds the templates and the code to
// the catalogue, and the catalogue to what they use: no page shows a key,
// and no message is kept that nothing shows.
func TestEveryTemplateKeyIsInTheCatalogue(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	inTemplates := regexp.MustCompile(`\.L\.T "([a-z_.]+)"`)
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFiles.ReadFile(p)
		for _, m := range inTemplates.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	inCode := regexp.MustCompile(`\bl\.T\("([a-z_.]+)"`)
	code, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range code {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inCode.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	messages := catalogue()
	for key := range used {
		if _, ok := messages[key]; !ok {
			t.Errorf("%s is shown but not in the catalogue", key)
		}
	}
	for key := range messages {
		if !used[key] {
			t.Errorf("%s is in the catalogue but nothing shows it", key)
		}
	}
}

func TestTheLanguageIsChosenByTheVisitor(t *testing.T) {
	t.Parallel()
	c := &Console{messages: catalogue(), langs: newLangMatcher()}
	cases := []struct {
		query, cookie, accept, want string
		remembered                  bool
	}{
		{want: LangZH},
		{accept: "en-US,en;q=0.9", want: LangEN},
		{accept: "zh-CN,zh;q=0.9,en;q=0.8", want: LangZH},
		{accept: "fr-FR,fr;q=0.9", want: LangZH},
		{accept: "zh-TW", want: LangZH},
		{accept: "not a header;;;", want: LangZH},
		{cookie: "en", accept: "zh-CN", want: LangEN},
		{cookie: "xx", accept: "en", want: LangEN},
		{query: "en", cookie: "zh-CN", want: LangEN, remembered: true},
		{query: "zh-CN", accept: "en", want: LangZH, remembered: true},
		{query: "de", cookie: "en", want: LangEN},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/console/rollout?lang="+url.QueryEscape(tc.query), nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", langCookie+"="+tc.cookie)
		}
		if tc.accept != "" {
			r.Header.Set("Accept-Language", tc.accept)
		}
		w := httptest.NewRecorder()
		got := c.pickLang(w, r)
		set := strings.Contains(w.Header().Get("Set-Cookie"), langCookie+"="+tc.want)
		if got.Code != tc.want || set != tc.remembered {
			t.Errorf("%+v: %s, remembered %v", tc, got.Code, set)
		}
	}
	if got := (Lang{Code: LangEN, messages: catalogue()}).T("no.such.key"); got != "[no.such.key]" {
		t.Errorf("a missing key shows as %q", got)
	}
	if got := (Label{ZH: "翁源县"}).In(LangEN); got != "翁源县" {
		t.Errorf("a label without English shows as %q", got)
	}
}

func TestTheLoginSendsBackOnlyToTheConsole(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"":                             rolloutPath,
		"/console/rollout?city=gd.sg":  "/console/rollout?city=gd.sg",
		"/console/rollout?phase=trial": "/console/rollout?phase=trial",
		"https://evil.example/":        rolloutPath,
		"//evil.example/console/":      rolloutPath,
		"/\\evil.example":              rolloutPath,
		"/v1/tenants":                  rolloutPath,
		"/console/login?next=/x":       rolloutPath,
		"/console/\r\nLocation: x":     rolloutPath,
		"javascript:alert(1)":          rolloutPath,
		"/console/../v1/tenants":       rolloutPath,
		"/console/%2e%2e/v1/tenants":   rolloutPath,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestTheConsoleRoutesHaveRules(t *testing.T) {
	t.Parallel()
	policy := auth.Policy()
	for route, want := range map[string]auth.Rule{
		RouteLogin:   {Public: true},
		RouteLogout:  {Self: true},
		RouteRollout: {Roles: []string{auth.RoleOperator}},
	} {
		got, ok := policy[route]
		if !ok || got.Public != want.Public || got.Self != want.Self || !slices.Equal(got.Roles, want.Roles) {
			t.Errorf("%s: %+v, want %+v", route, got, want)
		}
	}
}

// FuzzConsoleInput feeds what a browser sends (the filter's query, the
// session cookie, where to go after the login, Accept-Language) to what
// reads it: nothing panics, and what comes out is what may.
func FuzzConsoleInput(f *testing.F) {
	f.Add("city=gd.shaoguan&phase=trial", "a.b.c|ccrt_x", "/console/rollout?city=gd", "zh-CN,en;q=0.5")
	f.Add("city=%ZZ&phase=", "|", "//evil", "en-US;q=abc")
	f.Add("phase=a\x00b", "a|b|c", "/console/\\x", "*")
	m := newLangMatcher()
	f.Fuzz(func(t *testing.T, query, cookie, next, accept string) {
		q, _ := url.ParseQuery(query)
		if fl, err := parseFilter(q); err == nil {
			if (fl.City != "" && !cityCode.MatchString(fl.City)) || (fl.Phase != "" && !phaseCode.MatchString(fl.Phase)) {
				t.Errorf("%q passed as %+v", query, fl)
			}
		}
		if s, ok := parseSession(cookie); ok && (s.access == "" || strings.Contains(s.refresh, sessionSeparator)) {
			t.Errorf("%q read as %+v", cookie, s)
		}
		to := safeNext(next)
		u, err := url.Parse(to)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(to, consolePath) || strings.ContainsAny(to, "\\\r\n") {
			t.Errorf("the login would send %q to %q", next, to)
		}
		if lang := acceptedLang(m, accept); lang != LangZH && lang != LangEN {
			t.Errorf("%q picked %q", accept, lang)
		}
	})
}

package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/countycloud/countycloud/core/auth"
)

// visitor is a browser as far as HTTP goes: it keeps cookies and does
// not follow redirects, so that the test sees each.
type visitor struct {
	t      testing.TB
	base   string
	client *http.Client
}

func newVisitor(t testing.TB, base string) *visitor {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{t: t, base: base, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
	// cookies are those the answer set.
	cookies []*http.Cookie
}

// location is where a redirect sends the browser.
func (a answer) location() string { return a.header.Get("Location") }

func (a answer) cookie(name string) *http.Cookie {
	for _, c := range a.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// do sends a request; header holds name, value pairs.
func (v *visitor) do(method, path string, form url.Values, header ...string) answer {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.base+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Cookie" {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: header[i+1]})
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), cookies: resp.Cookies()}
}

func (v *visitor) get(path string, header ...string) answer { return v.do("GET", path, nil, header...) }

func (v *visitor) post(path string, form url.Values, header ...string) answer {
	return v.do("POST", path, form, header...)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([A-Z2-7]{26})"`)

// csrf is the check code of the visitor's forms, as its pages show it.
func (v *visitor) csrf() string {
	v.t.Helper()
	a := v.get("/console/login")
	m := csrfField.FindStringSubmatch(a.body)
	if m == nil {
		v.t.Fatalf("the login page has no check code:\n%s", a.body)
	}
	return m[1]
}

// login logs the operator in through the form.
func (v *visitor) login() answer {
	v.t.Helper()
	a := v.post("/console/login", url.Values{"csrf": {v.csrf()}, "login": {operatorLogin}, "password": {operatorPassword}})
	if a.status != http.StatusSeeOther || a.cookie(sessionCookie) == nil {
		v.t.Fatalf("login: %d %s", a.status, a.body)
	}
	return a
}

// sessionValue is the session cookie the visitor holds.
func (v *visitor) sessionValue() string {
	u, _ := url.Parse(v.base)
	for _, c := range v.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// expect checks a's status, and that its body holds each of says.
func expect(t testing.TB, what string, a answer, status int, says ...string) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: %d, want %d\n%s", what, a.status, status, a.body)
		return
	}
	for _, s := range says {
		if !strings.Contains(a.body, s) {
			t.Errorf("%s: the page does not say %q:\n%s", what, s, a.body)
		}
	}
	checkHeaders(t, what, a)
}

// checkHeaders checks the security headers every console answer carries.
func checkHeaders(t testing.TB, what string, a answer) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	} {
		if got := a.header.Get(name); got != want {
			t.Errorf("%s: %s is %q, want %q", what, name, got, want)
		}
	}
}

// redirectedToLogin checks that a sends the browser to log in, saying why.
func redirectedToLogin(t testing.TB, what string, a answer, why string) {
	t.Helper()
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/console/login?why="+why) {
		t.Errorf("%s: %d to %q, want the login page (why=%s)", what, a.status, a.location(), why)
	}
	checkHeaders(t, what, a)
}

func TestTheOverviewIsTheOperatorsAfterTheirLogin(t *testing.T) {
	t.Parallel()
	c := startConsole(t, sampleOverview{computedAt: time.Now().Add(-30 * time.Second)})
	v := newVisitor(t, c.url)

	a := v.get("/console/rollout?city=gd.shaoguan")
	redirectedToLogin(t, "no session", a, "required")
	if want := "/console/login?why=required&next=%2Fconsole%2Frollout%3Fcity%3Dgd.shaoguan"; a.location() != want {
		t.Errorf("sent to %q, want %q", a.location(), want)
	}
	a = v.get(a.location())
	expect(t, "login page", a, 200, "运维人员登录", "请先登录。", `name="next" value="/console/rollout?city=gd.shaoguan"`)
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the login page may be cached: %q", a.header.Get("Cache-Control"))
	}
	token := csrfField.FindStringSubmatch(a.body)[1]
	form := func(csrf, password string) url.Values {
		f := url.Values{"login": {operatorLogin}, "password": {password}, "next": {"/console/rollout?city=gd.shaoguan"}}
		if csrf != "" {
			f.Set("csrf", csrf)
		}
		return f
	}

	// A form without its check code, with another browser's, or sent from
	// another site is refused before any login is tried.
	for what, a := range map[string]answer{
		"no check code":           v.post("/console/login", form("", operatorPassword)),
		"another browser's code":  v.post("/console/login", form(newVisitor(t, c.url).csrf(), operatorPassword)),
		"from another site":       v.post("/console/login", form(token, operatorPassword), "Sec-Fetch-Site", "cross-site"),
		"from another origin":     v.post("/console/login", form(token, operatorPassword), "Origin", "https://evil.example"),
		"without the code cookie": newVisitor(t, c.url).post("/console/login", form(token, operatorPassword)),
	} {
		expect(t, what, a, 403, "表单已失效", CodeCSRF)
		if a.cookie(sessionCookie) != nil {
			t.Errorf("%s: a session was set", what)
		}
	}
	expect(t, "wrong password", v.post("/console/login", form(token, "Not-the-password-1")), 401, "登录名或密码错误。", `value="zhang.wei"`)
	expect(t, "no password", v.post("/console/login", form(token, "")), 400, "请填写登录名和密码。")

	a = v.post("/console/login", form(token, operatorPassword))
	if a.status != http.StatusSeeOther || a.location() != "/console/rollout?city=gd.shaoguan" {
		t.Fatalf("login: %d to %q\n%s", a.status, a.location(), a.body)
	}
	session := a.cookie(sessionCookie)
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || session.Path != "/" {
		t.Errorf("the session cookie: %+v", session)
	}
	if fresh := a.cookie(csrfCookie); fresh == nil || fresh.Value == token {
		t.Errorf("the login kept the check code of before it: %+v", fresh)
	}

	a = v.get(a.location())
	expect(t, "the overview", a, 200, "全省推广概览", "当前用户：张伟", "翁源县", "乐昌市", "始兴县", "试运行", "12 天", "4 / 6 项通过",
		`<progress max="6" value="4">`, "每个重点单位完成 2 次发文流程", "11/13 ≥ 2", "尚缺：县财政局、县教育局", "62.5%", "184",
		"不到 1 分钟前", "共 3 个县（市、区）", `<option value="gd.shaoguan" selected>韶关市</option>`)
	if strings.Contains(a.body, "英德市") {
		t.Error("the city filter let a county of another city through")
	}
	expect(t, "a phase", v.get("/console/rollout?phase=trial"), 200, "翁源县", "佛冈县", "共 2 个县（市、区）")
	expect(t, "no plan", v.get("/console/rollout?phase=none"), 200, "连南瑶族自治县", "共 1 个县（市、区）", "<td class=\"phase\">—</td>")
	expect(t, "nothing matches", v.get("/console/rollout?city=gd.qingyuan&phase=formal"), 200, "没有符合条件的县（市、区）。")
	expect(t, "an unknown city", v.get("/console/rollout?city=gd.nowhere"), 400, "没有代码为 gd.nowhere 的城市。", CodeUnknownCity)
	expect(t, "an unknown phase", v.get("/console/rollout?phase=archived"), 400, "没有代码为 archived 的推广阶段。", CodeUnknownPhase)
	a = v.get("/console/rollout?phase=" + url.QueryEscape(`"><script>alert(1)</script>`))
	expect(t, "a phase that could not be a code", a, 400, CodeUnknownPhase)
	if strings.Contains(a.body, "<script>") {
		t.Errorf("the page shows what was sent unescaped:\n%s", a.body)
	}

	expect(t, "English", v.get("/console/rollout?lang=en"), 200, `<html lang="en">`, "Provincial rollout overview", "Signed in as 张伟",
		"Wengyuan County", "Trial operation", "4 of 6 checks passed", "11/13 ≥ 2", "Still missing: 县财政局, 县教育局", "under a minute ago",
		"Still missing: 市公安局, 市民政局, 市自然资源局, 市财政局, 市交通运输局, and 1 more")
	expect(t, "English remembered", v.get("/console/rollout"), 200, "Provincial rollout overview")
	expect(t, "back to Chinese", v.get("/console/rollout?lang=zh-CN"), 200, `<html lang="zh-CN">`, "全省推广概览")

	// Logging out takes the check code too, and ends the session on the
	// server: the cookie of before is refused.
	before := v.sessionValue()
	expect(t, "logout without the code", v.post("/console/logout", url.Values{}), 403, CodeCSRF)
	expect(t, "still logged in", v.get("/console/rollout"), 200, "全省推广概览")
	a = v.post("/console/logout", url.Values{"csrf": {v.csrf()}})
	if a.status != http.StatusSeeOther || a.location() != "/console/login?why=out" {
		t.Errorf("logout: %d to %q", a.status, a.location())
	}
	redirectedToLogin(t, "after the logout", v.get("/console/rollout"), "required")
	redirectedToLogin(t, "the cookie of before the logout", newVisitor(t, c.url).get("/console/rollout", "Cookie", before), "ended")
	expect(t, "the login page after the logout", v.get("/console/login?why=out"), 200, "已退出登录。")
}

func TestASessionIsRenewedOnceAndAForgedOneRefused(t *testing.T) {
	t.Parallel()
	c := startConsole(t, sampleOverview{computedAt: time.Now()})
	ctx := context.Background()
	tokens, err := c.identity.Login(ctx, "", auth.Credentials{Login: operatorLogin, Password: operatorPassword}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var kid string
	var secret []byte
	if err := c.db.Control.QueryRow("SELECT kid, secret FROM signing_keys WHERE retired_at IS NULL").Scan(&kid, &secret); err != nil {
		t.Fatal(err)
	}
	sign := func(key []byte, exp time.Time) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "countycloud", "sub": strconv.FormatInt(tokens.Principal.ID, 10),
			"exp": exp.Unix(), "knd": "operator", "lgn": operatorLogin, "sid": tokens.Principal.Session})
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v := newVisitor(t, c.url)

	// An access token that expired is renewed with the session's refresh
	// token, once: the refresh token is spent.
	expired := sign(secret, time.Now().Add(-time.Minute)) + sessionSeparator + tokens.RefreshToken
	a := v.get("/console/rollout", "Cookie", expired)
	expect(t, "an expired access token", a, 200, "翁源县")
	renewed := a.cookie(sessionCookie)
	if renewed == nil || renewed.Value == expired || !strings.Contains(renewed.Value, sessionSeparator+"ccrt_") {
		t.Fatalf("the renewed session: %+v", renewed)
	}
	// Its refresh token presented again means two hold it: the session
	// ends, for the renewed cookie too.
	a = v.get("/console/rollout", "Cookie", expired)
	redirectedToLogin(t, "a spent refresh token", a, "ended")
	if cleared := a.cookie(sessionCookie); cleared == nil || cleared.MaxAge >= 0 {
		t.Errorf("the refused session was not cleared: %+v", cleared)
	}
	redirectedToLogin(t, "the renewed session after the reuse", v.get("/console/rollout", "Cookie", renewed.Value), "ended")

	for what, cookie := range map[string]string{
		"a forged token":            "eyJhbGciOiJIUzI1NiJ9.e30.AAAA" + sessionSeparator + "ccrt_forged",
		"another key's signature":   sign([]byte("not the signing key"), time.Now().Add(time.Minute)) + sessionSeparator,
		"an expired token, no more": sign(secret, time.Now().Add(-time.Minute)) + sessionSeparator,
	} {
		redirectedToLogin(t, what, v.get("/console/rollout", "Cookie", cookie), "ended")
	}
	for what, cookie := range map[string]string{
		"no access token":     sessionSeparator + tokens.RefreshToken,
		"three parts":         "a" + sessionSeparator + "b" + sessionSeparator + "c",
		"an oversized cookie": strings.Repeat("a", maxSessionCookie+1),
	} {
		redirectedToLogin(t, what, v.get("/console/rollout", "Cookie", cookie), "required")
	}
	// The console reads its own cookie only: a valid token sent as the
	// API's header opens nothing.
	fresh, err := c.identity.Login(ctx, "", auth.Credentials{Login: operatorLogin, Password: operatorPassword}, "test")
	if err != nil {
		t.Fatal(err)
	}
	redirectedToLogin(t, "an API token", v.get("/console/rollout", "Authorization", "Bearer "+fresh.AccessToken), "required")
	expect(t, "the same token as the session", v.get("/console/rollout", "Cookie", fresh.AccessToken+sessionSeparator+fresh.RefreshToken), 200, "翁源县")
}

// failingOverview is a rollout that cannot be read.
type failingOverview struct{}

func (failingOverview) Overview(context.Context, OverviewFilter) (Overview, error) {
	return Overview{}, errors.New("the aggregates cannot be read")
}

func TestThePageSaysWhenNoOverviewCanBeShown(t *testing.T) {
	t.Parallel()
	none := newVisitor(t, startConsole(t, nil).url)
	none.login()
	a := none.get("/console/rollout")
	expect(t, "nothing provides the overview", a, 200, "推广数据尚未接入")
	if strings.Contains(a.body, "<table") {
		t.Errorf("a table without an overview:\n%s", a.body)
	}

	failing := newVisitor(t, startConsole(t, failingOverview{}).url)
	failing.login()
	a = failing.get("/console/rollout")
	expect(t, "an overview that fails", a, 500, "内部错误", a.header.Get("X-Request-Id"))
	if strings.Contains(a.body, "aggregates") {
		t.Errorf("the page shows the cause of an internal error:\n%s", a.body)
	}
}

func TestTheStylesheetIsServedUnderItsHash(t *testing.T) {
	t.Parallel()
	c := startConsole(t, nil)
	v := newVisitor(t, c.url)
	page := v.get("/console/login")
	m := regexp.MustCompile(`href="(/console/static/console\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the page links no hashed stylesheet:\n%s", page.body)
	}
	a := v.get(m[1])
	expect(t, "the stylesheet", a, 200, ".rollout")
	if a.header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(a.header.Get("Cache-Control"), "immutable") {
		t.Errorf("the stylesheet's headers: %v", a.header)
	}
	if a := v.get("/console/static/console.css"); a.status != 404 {
		t.Errorf("the stylesheet by its plain name: %d", a.status)
	}
	if a := v.get("/console/"); a.status != http.StatusSeeOther || a.location() != "/console/rollout" {
		t.Errorf("/console/: %d to %q", a.status, a.location())
	}
}

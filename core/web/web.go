// Package web is the admin console at /console/…: html/template pages and
// a hand-written stylesheet embedded in the binary, zh-CN first with
// English, and no script at all (filters are GET forms).
//
// The console is a client of the same services as the API, behind the
// same guard: its routes are in auth.Policy, and its session cookie holds
// the access and refresh tokens an API login hands out, so that every
// check of a token (signature, expiry, revocation, the account's
// standing, rate limits, the audit of refusals) is the API's own. Every
// answer carries a strict Content-Security-Policy, and every form that
// POSTs a CSRF token.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	kitjwt "github.com/go-kit/kit/auth/jwt"
	"github.com/go-kit/kit/endpoint"
	"golang.org/x/text/language"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// The console's guarded routes, each with its rule in auth.Policy.
const (
	RouteLogin   = "console.login"
	RouteLogout  = "console.logout"
	RouteRollout = "console.rollout"
)

// Identity is what the console needs of core/auth: the operator's login,
// the renewal of a session's access token, and its end.
type Identity interface {
	Login(ctx context.Context, tenant string, creds auth.Credentials, source string) (auth.Tokens, error)
	Refresh(ctx context.Context, refresh string) (auth.Tokens, error)
	Logout(ctx context.Context, p auth.Principal) error
}

// Options are what the console is built from.
type Options struct {
	Identity Identity
	// Guard is the API's guard: the middleware of a route by its name.
	Guard func(route string) endpoint.Middleware
	// Rollout provides the provincial overview; nil until something does,
	// which the page then says.
	Rollout RolloutOverview
	// SecureCookies marks the console's cookies Secure (and names them
	// __Host-…): everywhere but plain HTTP on the loopback.
	SecureCookies bool
	Now           func() time.Time
	Log           *slog.Logger
}

// Console serves the console's pages.
type Console struct {
	identity Identity
	overview RolloutOverview
	secure   bool
	now      func() time.Time
	log      *slog.Logger
	messages map[string]Label
	langs    language.Matcher
	pages    map[string]*template.Template
	// assets are the static files by the names that carry their hash;
	// css and icon are the paths pages link them by.
	assets    map[string]asset
	css, icon string
	origins   *http.CrossOriginProtection

	login, logout, rolloutPage endpoint.Endpoint
}

type asset struct {
	body        []byte
	contentType string
}

// New builds the console. It fails if a template or asset does not load,
// and panics, as the guard does, if a route has no rule in the policy.
func New(o Options) (*Console, error) {
	c := &Console{
		identity: o.Identity, overview: o.Rollout, secure: o.SecureCookies, now: o.Now, log: o.Log,
		messages: catalogue(), langs: newLangMatcher(), pages: map[string]*template.Template{}, assets: map[string]asset{},
		origins: http.NewCrossOriginProtection(),
	}
	if c.now == nil {
		c.now = time.Now
	}
	// Each page is a template of its own over the layout.
	for _, name := range []string{"login", "rollout", "error"} {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	if err := c.loadAssets(); err != nil {
		return nil, err
	}
	page := func(route string, e endpoint.Endpoint) endpoint.Endpoint {
		return o.Guard(route)(func(ctx context.Context, request any) (any, error) {
			body, err := e(ctx, request)
			return pageData{principal: auth.PrincipalFrom(ctx), body: body}, err
		})
	}
	c.login = page(RouteLogin, func(ctx context.Context, request any) (any, error) {
		return c.identity.Login(ctx, "", request.(auth.Credentials), kit.SourceAddr(ctx))
	})
	c.logout = page(RouteLogout, func(ctx context.Context, _ any) (any, error) {
		return nil, c.identity.Logout(ctx, auth.PrincipalFrom(ctx))
	})
	c.rolloutPage = page(RouteRollout, c.rollout)
	return c, nil
}

// loadAssets names each static file by its content's hash, so that a
// browser may keep it for good: a changed file has a new name.
func (c *Console) loadAssets() error {
	return fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		name := strings.TrimSuffix(path.Base(p), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		c.assets[name] = asset{body: body, contentType: mime.TypeByExtension(ext)}
		switch ext {
		case ".css":
			c.css = staticPath + name
		case ".svg":
			c.icon = staticPath + name
		}
		return nil
	})
}

const (
	consolePath = "/console/"
	staticPath  = consolePath + "static/"
	loginPath   = consolePath + "login"
	logoutPath  = consolePath + "logout"
	rolloutPath = consolePath + "rollout"
)

// Routes are the console's routes, for kit.Handler beside the API's.
func (c *Console) Routes() []kit.Route {
	route := func(method, pattern, name string, h http.HandlerFunc) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: withPolicy(h)}
	}
	return []kit.Route{
		route("GET", consolePath+"{$}", "console.home", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, rolloutPath, http.StatusSeeOther)
		}),
		route("GET", staticPath+"{name}", "console.static", c.serveAsset),
		route("GET", loginPath, "console.login.form", c.serveLoginForm),
		secret(route("POST", loginPath, RouteLogin, c.serveLogin)),
		secret(route("POST", logoutPath, RouteLogout, c.serveLogout)),
		route("GET", rolloutPath, RouteRollout, c.serveRollout),
	}
}

// secret marks rt's answers as carrying a secret (the session's tokens in
// a cookie): no cache keeps them, redirects and refusals included.
func secret(rt kit.Route) kit.Route {
	rt.Secret = true
	return rt
}

// ContentSecurityPolicy is every console answer's: nothing but the
// console's own stylesheet and images, no script at all, forms that post
// only to the console, and no frame around it.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// withPolicy sets the console's security headers on every answer of h,
// errors and redirects included.
func withPolicy(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := c.assets[r.PathValue("name")]
	if !ok {
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}

// pageData is what a guarded endpoint answered, and to whom.
type pageData struct {
	principal auth.Principal
	body      any
}

// guarded runs e as the session's principal and says whether it answered;
// if not, the caller has been answered already (sent to log in, or shown
// why not). An access token that has expired is renewed once with the
// session's refresh token, as POST /v1/auth/refresh would, and the renewed
// session is set on w.
func (c *Console) guarded(w http.ResponseWriter, r *http.Request, l Lang, e endpoint.Endpoint, request any) (pageData, bool) {
	s, ok := c.readSession(r)
	if !ok {
		c.toLogin(w, r, "required")
		return pageData{}, false
	}
	res, err := e(withToken(r.Context(), s.access), request)
	if errs.CodeOf(err) == auth.CodeTokenExpired && s.refresh != "" {
		var t auth.Tokens
		if t, err = c.identity.Refresh(r.Context(), s.refresh); err == nil {
			c.setSession(w, t)
			res, err = e(withToken(r.Context(), t.AccessToken), request)
		}
	}
	switch {
	case err == nil:
		return res.(pageData), true
	case errs.As(err).Kind == errs.KindUnauthenticated:
		c.clearSession(w)
		c.toLogin(w, r, "ended")
	default:
		c.fail(w, r, l, err)
	}
	return pageData{}, false
}

// withToken is ctx carrying token where the guard reads a request's.
func withToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, kitjwt.JWTContextKey, token)
}

// toLogin sends the browser to the login page, saying why, to come back
// to the page it asked for (a GET's) once logged in.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request, why string) {
	target := loginPath + "?why=" + why
	if r.Method == http.MethodGet {
		target += "&next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// view is what every page's template gets.
type view struct {
	L    Lang
	CSS  string
	Icon string
	CSRF string
	// LangURL is this page in the other language.
	LangURL string
	// User is who is logged in, "" on pages before the login.
	User string
	Body any
}

// render answers with page in l.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, l Lang, d pageData) {
	v := view{L: l, CSS: c.css, Icon: c.icon, CSRF: c.csrfToken(w, r), LangURL: langURL(r, l.Other()), Body: d.body}
	if d.principal.Kind == auth.KindOperator || d.principal.Kind == auth.KindAccount {
		v.User = d.principal.Name
		if v.User == "" {
			v.User = d.principal.Login
		}
	}
	var buf bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "console page failed", "page", page, "err", err)
		http.Error(w, "internal error; quote request id "+kit.RequestID(r.Context()), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// langURL is the page of r in lang, its other parameters kept.
func langURL(r *http.Request, lang string) string {
	q := r.URL.Query()
	q.Set("lang", lang)
	return r.URL.Path + "?" + q.Encode()
}

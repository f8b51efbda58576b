package web

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
)

// The console's cookies. Secure ones are named __Host-…, which a browser
// takes only from this origin over HTTPS, for the path /, without a
// domain: a sibling site cannot plant one.
const (
	sessionCookie = "cc_session"
	csrfCookie    = "cc_csrf"
	// maxSessionCookie bounds what is read as a session: an access token
	// and a refresh token are far shorter.
	maxSessionCookie = 4096
)

// CodeCSRF is the code of a form posted without the check code its page
// was given, or from another site.
const CodeCSRF = "csrf_failed"

var errCSRF = errs.E(errs.KindForbidden, CodeCSRF, "the form's check code is missing or wrong; reload the page and submit it again")

func (c *Console) cookieName(base string) string {
	if c.secure {
		return "__Host-" + base
	}
	return base
}

// setCookie sets one of the console's cookies: never readable by a script
// (there is none, and no injected one may read it), sent only on requests
// from the console's own pages. maxAge 0 keeps it for the browser's
// session, below 0 removes it.
func (c *Console) setCookie(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode})
}

// session is the tokens of a console login.
type session struct {
	access, refresh string
}

// sessionSeparator joins the two tokens in the cookie; neither holds it.
const sessionSeparator = "|"

// readSession is the session r's cookie holds, if any. Whether its tokens
// are any good is the guard's to say.
func (c *Console) readSession(r *http.Request) (session, bool) {
	ck, err := r.Cookie(c.cookieName(sessionCookie))
	if err != nil || len(ck.Value) > maxSessionCookie {
		return session{}, false
	}
	return parseSession(ck.Value)
}

func parseSession(v string) (session, bool) {
	access, refresh, _ := strings.Cut(v, sessionSeparator)
	if access == "" || strings.Contains(refresh, sessionSeparator) {
		return session{}, false
	}
	return session{access: access, refresh: refresh}, true
}

// setSession keeps t as the browser's session: for as long as the browser
// runs, and no longer than the server's session, which ends on its own.
func (c *Console) setSession(w http.ResponseWriter, t auth.Tokens) {
	c.setCookie(w, sessionCookie, t.AccessToken+sessionSeparator+t.RefreshToken, 0)
}

func (c *Console) clearSession(w http.ResponseWriter) {
	c.setCookie(w, sessionCookie, "", -1)
}

// csrfToken is the check code r's forms carry: the browser's CSRF cookie,
// set on w if it has none. A page of another site can neither read the
// cookie nor set one of this site, so it cannot send the matching code.
func (c *Console) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookieName(csrfCookie)); err == nil && validCSRF(ck.Value) {
		return ck.Value
	}
	return c.newCSRF(w)
}

// newCSRF sets a new check code on w: at every login and logout, so that
// no code outlives the session it was used in.
func (c *Console) newCSRF(w http.ResponseWriter) string {
	t := rand.Text()
	c.setCookie(w, csrfCookie, t, 0)
	return t
}

// validCSRF reports whether s could be a check code rand.Text made.
func validCSRF(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

// checkForm refuses a POST that did not come from the console's own page:
// sent by another site (the browser's Sec-Fetch-Site and Origin say so),
// or without the check code of the browser's cookie.
func (c *Console) checkForm(r *http.Request) error {
	if err := c.origins.Check(r); err != nil {
		return errCSRF
	}
	ck, err := r.Cookie(c.cookieName(csrfCookie))
	if err != nil || !validCSRF(ck.Value) {
		return errCSRF
	}
	if subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		return errCSRF
	}
	return nil
}

// safeNext is where to go after the login: a page of the console named
// by next, else the overview. Anything else (another site, a path out of
// the console) is ignored, so that the login cannot be made to send the
// operator elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(next, consolePath) || !strings.HasPrefix(path.Clean(u.Path)+"/", consolePath) ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(u.Path, loginPath) {
		return rolloutPath
	}
	return next
}

// loginView is the login page's.
type loginView struct {
	Next   string
	Login  string
	Notice string
	Error  string
}

// loginNotice says why the login page was shown, by its ?why=.
func loginNotice(l Lang, why string) string {
	switch why {
	case "required":
		return l.T("login.required")
	case "ended":
		return l.T("login.session_ended")
	case "out":
		return l.T("login.logged_out")
	}
	return ""
}

// serveLoginForm is GET /console/login.
func (c *Console) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	l := c.pickLang(w, r)
	q := r.URL.Query()
	c.render(w, r, http.StatusOK, "login", l, pageData{body: loginView{Next: safeNext(q.Get("next")), Notice: loginNotice(l, q.Get("why"))}})
}

// serveLogin is POST /console/login: the operator's login, through the
// API's (its checks, its waits after wrong passwords, its audit).
func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	l := c.pickLang(w, r)
	if err := c.checkForm(r); err != nil {
		c.fail(w, r, l, err)
		return
	}
	creds := auth.Credentials{Login: r.PostFormValue("login"), Password: r.PostFormValue("password")}
	next := safeNext(r.PostFormValue("next"))
	res, err := c.login(r.Context(), creds)
	if err != nil {
		e := errs.As(err)
		msg := l.T("login.failed")
		switch {
		case e.Kind == errs.KindTooManyRequests:
			setRetryAfter(w, e)
			msg = l.T("login.wait", showWait(l, e.RetryAfter))
		case e.Kind == errs.KindInvalid:
			msg = l.T("login.missing")
		case e.Kind != errs.KindUnauthenticated:
			c.fail(w, r, l, err)
			return
		}
		c.render(w, r, statusOf(e), "login", l, pageData{body: loginView{Next: next, Login: creds.Login, Error: msg}})
		return
	}
	c.setSession(w, res.(pageData).body.(auth.Tokens))
	c.newCSRF(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// serveLogout is POST /console/logout: the session ends, on the server
// too.
func (c *Console) serveLogout(w http.ResponseWriter, r *http.Request) {
	l := c.pickLang(w, r)
	if err := c.checkForm(r); err != nil {
		c.fail(w, r, l, err)
		return
	}
	if _, ok := c.guarded(w, r, l, c.logout, nil); !ok {
		return
	}
	c.clearSession(w)
	c.newCSRF(w)
	http.Redirect(w, r, loginPath+"?why=out", http.StatusSeeOther)
}

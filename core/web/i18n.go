package web

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// The console's languages: zh-CN first, English second.
const (
	LangZH = "zh-CN"
	LangEN = "en"
)

// Label is a text in the console's two languages. A label without its
// English falls back to its Chinese: a county's name, say, has no other.
type Label struct {
	ZH string
	EN string
}

// In is l in lang.
func (l Label) In(lang string) string {
	if lang == LangEN && l.EN != "" {
		return l.EN
	}
	return l.ZH
}

// Lang is a page's language and its messages, which templates call as
// {{.L.T "key" args…}}.
type Lang struct {
	Code     string
	messages map[string]Label
}

// T is the message key in l's language, formatted with args if given. A
// key the catalogue lacks shows as itself in brackets, which the
// catalogue's test finds in every template before it ships.
func (l Lang) T(key string, args ...any) string {
	m, ok := l.messages[key]
	if !ok {
		return "[" + key + "]"
	}
	if len(args) == 0 {
		return m.In(l.Code)
	}
	return fmt.Sprintf(m.In(l.Code), args...)
}

// HTMLLang is the page's lang attribute.
func (l Lang) HTMLLang() string { return l.Code }

// Other is the code of the language the page offers to switch to.
func (l Lang) Other() string {
	if l.Code == LangEN {
		return LangZH
	}
	return LangEN
}

// langCookie remembers a language chosen with ?lang=.
const langCookie = "cc_lang"

// newLangMatcher picks between the two from Accept-Language; zh-CN is
// first, so it is what a browser that prefers neither gets.
func newLangMatcher() language.Matcher {
	return language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})
}

// parseLang is the console's language named by s, or "".
func parseLang(s string) string {
	switch strings.ToLower(s) {
	case "zh-cn", "zh":
		return LangZH
	case "en":
		return LangEN
	}
	return ""
}

// pickLang is the language of a request: ?lang= (remembered in a cookie
// set on w), else the cookie, else the browser's Accept-Language, else
// zh-CN.
func (c *Console) pickLang(w http.ResponseWriter, r *http.Request) Lang {
	lang := parseLang(r.URL.Query().Get("lang"))
	switch {
	case lang != "":
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
	default:
		if ck, err := r.Cookie(langCookie); err == nil {
			lang = parseLang(ck.Value)
		}
	}
	if lang == "" {
		lang = acceptedLang(c.langs, r.Header.Get("Accept-Language"))
	}
	return Lang{Code: lang, messages: c.messages}
}

// acceptedLang is the console's language a browser's Accept-Language
// prefers: English only when it is the closer match.
func acceptedLang(m language.Matcher, header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return LangZH
	}
	_, i, confidence := m.Match(tags...)
	if i == 1 && confidence != language.No {
		return LangEN
	}
	return LangZH
}

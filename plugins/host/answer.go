package host

import (
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// CodeModuleBadAnswer is a module answer the platform will not serve: a
// header that would act beyond the module (a Location off its routes, a
// value with a line break in it), or a status that is no HTTP status.
const CodeModuleBadAnswer = "module_bad_answer"

// moduleHeaders are the headers a module may set on its answer; the
// platform drops any other (Set-Cookie above all: a module must never set
// a cookie on the platform's origin, where the console's session lives).
// Content-Type, Content-Disposition and Location pass only as the rules
// of answer allow.
var moduleHeaders = []string{"Content-Disposition", "Content-Language", "Content-Type", "ETag", "Last-Modified", "Location"}

// answerPolicy is the Content-Security-Policy of every module answer: a
// browser that opens one anyway runs no script of it, loads nothing for
// it, and gives it no origin, so it cannot act as the platform's page.
const answerPolicy = "sandbox; default-src 'none'"

// moduleAnswer is a module's answer as the platform serves it.
type moduleAnswer struct {
	status int
	header http.Header
	body   []byte
}

// answer turns what plugin answered tenant's request into what the
// platform serves from its origin. The bytes are the module's, but the
// origin is the platform's: nothing of the answer may run there, be kept
// by a shared cache, set a cookie there, or send the caller off the
// module's own routes.
func answer(tenant, plugin string, resp *pluginv1.HandleResponse) (moduleAnswer, error) {
	status := int(resp.GetStatus())
	if status < 200 || status > 599 {
		return moduleAnswer{}, badAnswer(plugin, "status %d is no final HTTP status", status)
	}
	given := map[string]string{}
	for name, v := range resp.GetHeaders() {
		name = textproto.CanonicalMIMEHeaderKey(name)
		if _, twice := given[name]; twice {
			return moduleAnswer{}, badAnswer(plugin, "header %s is given twice", name)
		}
		given[name] = v
	}
	h := http.Header{}
	for _, name := range moduleHeaders {
		v, ok := given[textproto.CanonicalMIMEHeaderKey(name)]
		if !ok {
			continue
		}
		if strings.ContainsFunc(v, isControl) {
			return moduleAnswer{}, badAnswer(plugin, "header %s holds a control character", name)
		}
		h.Set(name, v)
	}
	if loc := h.Get("Location"); loc != "" && !withinModule(tenant, plugin, loc) {
		return moduleAnswer{}, badAnswer(plugin, "Location may name only a path of the module's own routes, %s", moduleRoutes(tenant, plugin))
	}
	contentType, disposition := presentation(h.Get("Content-Type"), h.Get("Content-Disposition"))
	h.Set("Content-Type", contentType)
	if disposition != "" {
		h.Set("Content-Disposition", disposition)
	} else {
		h.Del("Content-Disposition")
	}
	h.Set("Content-Security-Policy", answerPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cacheControl())
	return moduleAnswer{status: status, header: h, body: resp.GetBody()}, nil
}

func badAnswer(plugin, format string, args ...any) error {
	return errs.E(errs.KindBadGateway, CodeModuleBadAnswer, "module %s gave an answer the platform does not serve: %s", plugin, fmt.Sprintf(format, args...))
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// cacheControl is the caching rule of every module answer. Module routes
// are served only to signed-in callers, and an answer to one may hold
// what another must not see: neither a shared cache nor the browser keeps
// it, whatever the module says. A public route's answer is the one
// exception (publicAnswer).
func cacheControl() string { return "private, no-store" }

// MaxPublicMaxAge bounds how long a cache may keep a public route's
// answer, in seconds: what a county withdraws from its public pages is
// gone from every cache within it.
const MaxPublicMaxAge = 300

// publicCacheControl is the one Cache-Control a module may give a public
// route's answer: "public, max-age=N", N at most MaxPublicMaxAge.
var publicCacheControl = regexp.MustCompile(`^public, max-age=([0-9]{1,3})$`)

// publicAnswer is answer for a public route, where the caller is anyone
// and the module may let caches keep what it answers everyone alike (a
// county's published pages): a GET answered 200 or 304 with
// Cache-Control "public, max-age=N" keeps it, up to MaxPublicMaxAge
// seconds. Any other answer, or any other Cache-Control, is served as
// every module answer is, kept by no cache.
func publicAnswer(tenant, plugin, method string, resp *pluginv1.HandleResponse) (moduleAnswer, error) {
	a, err := answer(tenant, plugin, resp)
	if err != nil || method != http.MethodGet || a.status != http.StatusOK && a.status != http.StatusNotModified {
		return a, err
	}
	for name, v := range resp.GetHeaders() {
		if textproto.CanonicalMIMEHeaderKey(name) != "Cache-Control" {
			continue
		}
		if m := publicCacheControl.FindStringSubmatch(v); m != nil {
			if age, err := strconv.Atoi(m[1]); err == nil && age <= MaxPublicMaxAge {
				a.header.Set("Cache-Control", v)
			}
		}
	}
	return a, nil
}

// inlineTypes are the types a browser shows in place without running
// anything of them: data and raster images. SVG and XML can carry script,
// HTML is a page: those, and every type not named here, are downloaded.
var inlineTypes = map[string]bool{
	"application/json": true, "text/plain": true, "text/csv": true,
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/avif": true, "image/bmp": true,
}

// presentation is the Content-Type and Content-Disposition the platform
// serves for what a module named: a type shown in place keeps the
// module's disposition (or none); any other goes as an attachment,
// keeping the file name the module gave. An answer without a type, or
// with one that does not parse, is bytes to download.
func presentation(contentType, disposition string) (string, string) {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mt, params = "application/octet-stream", nil
	}
	typed := mt
	if cs, ok := params["charset"]; ok {
		typed = mime.FormatMediaType(mt, map[string]string{"charset": cs})
	}
	if typed == "" {
		typed = mt
	}
	kind, dparams, err := mime.ParseMediaType(disposition)
	if disposition == "" || err != nil || (kind != "inline" && kind != "attachment") {
		kind, dparams = "", nil
	}
	if inlineTypes[mt] {
		if kind == "" {
			return typed, ""
		}
		return typed, formatDisposition(kind, dparams["filename"])
	}
	return typed, formatDisposition("attachment", dparams["filename"])
}

func formatDisposition(kind, filename string) string {
	if filename != "" {
		if d := mime.FormatMediaType(kind, map[string]string{"filename": filename}); d != "" {
			return d
		}
	}
	return kind
}

// moduleRoutes is the path under which the module's routes of a county
// are served.
func moduleRoutes(tenant, plugin string) string {
	return "/v1/tenants/" + tenant + "/modules/" + plugin + "/"
}

// withinModule says whether loc, a Location a module gave, leads a
// browser only to the module's own routes of the county: a path (no
// scheme, no host, not protocol-relative) that, as a browser reads it
// (percent-escapes decoded, no dot segments, no backslash), stays under
// them.
func withinModule(tenant, plugin, loc string) bool {
	// Browsers drop tabs and line breaks from a URL before reading it.
	if strings.ContainsAny(loc, "\\\t") || strings.ContainsFunc(loc, isControl) || strings.HasPrefix(loc, "//") {
		return false
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	p := u.Path
	if strings.ContainsAny(p, `\`) || strings.Contains(p, "//") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return strings.HasPrefix(p, moduleRoutes(tenant, plugin))
}

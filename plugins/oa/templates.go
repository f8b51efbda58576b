package oa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// collTemplates keeps each unit's document template (公文模板).
const collTemplates = "templates"

// template is a unit's document template (红头): what its documents are
// headed and signed with, and how their numbers (文号) are written.
type template struct {
	UnitID int64 `json:"unit_id"`
	// Header is the red header (版头), 翁源县人民政府文件.
	Header string `json:"header"`
	// Prefix is the issuing unit's short name in numbers (发文机关代字),
	// 翁府.
	Prefix string `json:"prefix"`
	// NumberFormat writes a number from {prefix}, {year} and {seq}:
	// {prefix}〔{year}〕{seq}号 gives 翁府〔2026〕12号.
	NumberFormat string `json:"number_format"`
	// Signature is the signature block (落款), 翁源县人民政府.
	Signature string `json:"signature"`
	UpdatedBy string `json:"updated_by"`
}

// defaultNumberFormat is the number's form in GB/T 9704-2012: the
// prefix, the year in hexagonal brackets, the sequence and 号.
const defaultNumberFormat = "{prefix}〔{year}〕{seq}号"

func templateRoutes() []route {
	return []route{
		{http.MethodGet, "/templates", (*call).listTemplates},
		{http.MethodGet, "/templates/{unit}", (*call).getTemplate},
		{http.MethodPut, "/templates/{unit}", (*call).putTemplate},
	}
}

func templateID(unit int64) string { return "unit-" + strconv.FormatInt(unit, 10) }

// templateView is a template as the API answers it.
type templateView struct {
	template
	Version int64 `json:"version"`
}

func templateOf(r sdk.Record) (templateView, error) {
	var t templateView
	if err := json.Unmarshal(r.Document, &t.template); err != nil {
		return templateView{}, fmt.Errorf("read template %s: %w", r.ID, err)
	}
	t.Version = r.Version
	return t, nil
}

// templateInput is the body of PUT /templates/{unit}.
type templateInput struct {
	// Version is the template's current version to replace it, 0 (or
	// absent) to create it.
	Version      int64  `json:"version"`
	Header       string `json:"header"`
	Prefix       string `json:"prefix"`
	NumberFormat string `json:"number_format"`
	Signature    string `json:"signature"`
}

// checkTemplate validates a template's text, filling in the default
// number format.
func checkTemplate(in *templateInput) error {
	in.Header, in.Prefix, in.Signature = strings.TrimSpace(in.Header), strings.TrimSpace(in.Prefix), strings.TrimSpace(in.Signature)
	in.NumberFormat = strings.TrimSpace(in.NumberFormat)
	if in.NumberFormat == "" {
		in.NumberFormat = defaultNumberFormat
	}
	var problems []string
	for _, f := range []struct {
		name, value string
		max         int
	}{{"header", in.Header, 60}, {"prefix", in.Prefix, 20}, {"signature", in.Signature, 60}, {"number_format", in.NumberFormat, 60}} {
		if n := utf8.RuneCountInString(f.value); n == 0 || n > f.max {
			problems = append(problems, fmt.Sprintf("%s must have 1 to %d characters", f.name, f.max))
		}
	}
	if strings.ContainsAny(in.Prefix, "{}") {
		problems = append(problems, "prefix holds no braces")
	}
	rest := strings.NewReplacer("{prefix}", "", "{year}", "", "{seq}", "").Replace(in.NumberFormat)
	if strings.Count(in.NumberFormat, "{year}") != 1 || strings.Count(in.NumberFormat, "{seq}") != 1 || strings.ContainsAny(rest, "{}") {
		problems = append(problems, "number_format holds {year} and {seq} once each, {prefix} at will, and no other braces")
	}
	if len(problems) > 0 {
		return badRequest(codeInvalidTemplate, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// formatNumber writes a document's number (文号) with the template.
func (t template) formatNumber(year int, seq int64) string {
	return strings.NewReplacer("{prefix}", t.Prefix, "{year}", strconv.Itoa(year), "{seq}", strconv.FormatInt(seq, 10)).Replace(t.NumberFormat)
}

// loadTemplate reads unit's template; a unit without one is
// template_not_found.
func (c *call) loadTemplate(unit int64) (templateView, error) {
	r, err := c.host.Get(c.ctx, collTemplates, templateID(unit))
	if errors.Is(err, sdk.ErrNotFound) {
		return templateView{}, newError(http.StatusNotFound, codeTemplateNotFound, "unit %d has no document template; its admin sets one with PUT /templates/%d", unit, unit)
	}
	if err != nil {
		return templateView{}, fromHost(err, "the unit's template")
	}
	return templateOf(r)
}

// listTemplates: GET /templates, every unit's, to any account of the
// county and to operators.
func (c *call) listTemplates(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "after", "limit")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() && !c.who.operator {
		return 0, nil, forbidden("only the county's accounts read its templates")
	}
	limit, err := pageLimit(q["limit"])
	if err != nil {
		return 0, nil, err
	}
	page, err := c.host.Query(c.ctx, collTemplates, sdk.Query{Limit: limit, After: q["after"]})
	if err != nil {
		return 0, nil, fromHost(err, "the templates")
	}
	out := struct {
		Templates []templateView `json:"templates"`
		Next      string         `json:"next,omitempty"`
	}{Templates: make([]templateView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		t, err := templateOf(r)
		if err != nil {
			return 0, nil, err
		}
		out.Templates = append(out.Templates, t)
	}
	return http.StatusOK, out, nil
}

// getTemplate: GET /templates/{unit}.
func (c *call) getTemplate(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	unit, err := positiveID("unit", p["unit"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() && !c.who.operator {
		return 0, nil, forbidden("only the county's accounts read its templates")
	}
	t, err := c.loadTemplate(unit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, t, nil
}

// putTemplate: PUT /templates/{unit}, by the county's admins or the
// unit's own admin, creating it (version 0) or replacing the version
// given.
func (c *call) putTemplate(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	unit, err := positiveID("unit", p["unit"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.administers(unit) {
		return 0, nil, forbidden("only the county's system_admin or the unit's unit_admin sets unit %d's template", unit)
	}
	var in templateInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkTemplate(&in); err != nil {
		return 0, nil, err
	}
	t := template{UnitID: unit, Header: in.Header, Prefix: in.Prefix, NumberFormat: in.NumberFormat, Signature: in.Signature, UpdatedBy: c.who.login}
	var before any
	if in.Version > 0 {
		old, err := c.loadTemplate(unit)
		if err != nil {
			return 0, nil, err
		}
		before = old.template
	}
	r, err := c.host.Put(c.ctx, collTemplates, templateID(unit), in.Version, t)
	if errors.Is(err, sdk.ErrNotFound) {
		return 0, nil, newError(http.StatusNotFound, codeTemplateNotFound, "unit %d has no template to replace; create it with version 0", unit)
	}
	if err != nil {
		return 0, nil, fromHost(err, "the template")
	}
	c.audit("template.put", "template", r.ID, before, t)
	status := http.StatusOK
	if in.Version == 0 {
		status = http.StatusCreated
		// A template is never removed: the unit's level rises to 1 once.
		c.count(measureTemplates, unit, "template:"+r.ID)
	}
	return status, templateView{template: t, Version: r.Version}, nil
}

// pageLimit reads a page's size: 1 to 100, 20 if absent.
func pageLimit(s string) (int, error) {
	if s == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 || strconv.Itoa(n) != s {
		return 0, badRequest(codeInvalidQuery, "limit %q is not a whole number from 1 to 100", s)
	}
	return n, nil
}

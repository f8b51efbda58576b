package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// Manifest describes a plugin to the host's catalog.
type Manifest struct {
	// ID names the module in URLs and the catalog: vod, oa, approval.
	ID string `json:"id"`
	// Name is what county admins see, such as 视频点播.
	Name   string `json:"name"`
	Vendor string `json:"vendor"`
	// Version is the plugin's semantic version, such as 1.2.0.
	Version string `json:"version"`
	// Protocol is the plugin protocol version it speaks.
	Protocol int `json:"protocol"`
	// Collections are the record collections the module keeps, by name.
	Collections map[string]Collection `json:"collections,omitempty"`
	// Settings is the JSON Schema of the settings a county gives the
	// module when it enables it; the host validates them against it. An
	// integer of format FormatUnitID must be the id of one of the
	// county's units.
	Settings json.RawMessage `json:"settings,omitempty"`
	// Workflows are the workflow definitions the module runs its work
	// through, in the platform's workflow JSON, keyed by a local code
	// named like a collection. When a county enables the module the host
	// installs each as the county's workflow "<id>.<code>" (setting its
	// code so), where the county's admins see and may localise it; a
	// changed definition must raise its version to replace the installed
	// one.
	Workflows map[string]json.RawMessage `json:"workflows,omitempty"`
	// PublicStart are the local codes of the Workflows a public route's
	// anonymous caller may start (Host.StartWorkflowFor, naming the
	// subject unit): a citizen's submission watched by supervision from
	// the moment it is made. Each start is the public request's one, and
	// history and audit name the anonymous caller with their address and
	// the module. None if empty: every start then needs an account.
	PublicStart []string `json:"public_start,omitempty"`
	// Measures are the figures the module produces, which it records
	// through Host.RecordMeasure and the county reads beside the
	// platform's (rollout gates, usage reports, billing). None if empty.
	Measures []MeasureDef `json:"measures,omitempty"`
	// Public are the routes anyone may call without a token (citizens
	// and enterprises: submit an application, query a result), served
	// under /v1/public/{county}/modules/{id}/… with the caller
	// CallerAnonymous. None if empty: every route then needs a token.
	Public []PublicRoute `json:"public,omitempty"`
}

// FormatUnitID is the settings schema's format ("format":
// "countycloud-unit-id") of an integer naming one of the county's units
// (a unit the module gives rights or work to): on enabling, the host
// refuses a value that is not the id of one of the county's units, so a
// setting never names a unit the county lacks, or one it creates later.
// A schema that uses it has every format in it asserted.
const FormatUnitID = "countycloud-unit-id"

// MeasureDef declares a figure the module produces.
type MeasureDef struct {
	// ID is the module's id, a dot, and dotted lowercase words
	// (letters, digits, underscores): oa.documents.sent.
	ID string `json:"id"`
	// Label names the figure where people read it: 发文数, Documents sent.
	Label Text `json:"label"`
	// Counts says what one count is: 一份发出的公文, one document sent.
	Counts Text `json:"counts"`
	// CountyWide figures are counted for the whole county (recorded with
	// unit 0); the others per unit (the default).
	CountyWide bool `json:"county_wide,omitempty"`
	// Level figures stand at a time (an index, items held) rather than
	// count events: a unit's figure of a day is what the module recorded
	// that day (recorded as deltas, which add up within the day), and a
	// read carries it forward over the days without one; a half-month's
	// or month's figure is the one standing on its last day, not a sum.
	// Without it a measure counts events, and a day without one has none.
	Level bool `json:"level,omitempty"`
}

// Text is a text in Chinese and in English.
type Text struct {
	ZH string `json:"zh-CN"`
	EN string `json:"en"`
}

// PublicRoute is a route of the module that anyone may call.
type PublicRoute struct {
	// Method is GET, POST, PUT, PATCH or DELETE.
	Method string `json:"method"`
	// Path is the route's path as the module sees it, such as
	// /suggestions or /receipts/{number}: segments of letters, digits,
	// dots, dashes, underscores and tildes, or a {name} that matches any
	// one segment.
	Path string `json:"path"`
}

var (
	publicMethods        = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	publicSegmentPattern = regexp.MustCompile(`^(\{[a-z][a-z0-9_]{0,31}\}|[A-Za-z0-9._~-]{1,64})$`)
)

// validPublicPath reports what is wrong with a public route's path.
func validPublicPath(path string) error {
	if !strings.HasPrefix(path, "/") || path == "/" {
		return errors.New("starts with / and names at least one segment")
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "." || seg == ".." || !publicSegmentPattern.MatchString(seg) {
			return fmt.Errorf("segment %q is neither a name of letters, digits, dots, dashes, underscores and tildes nor a {name}", seg)
		}
	}
	return nil
}

// Collection declares a collection of records.
type Collection struct {
	// Indexed are the top-level fields that queries may filter on.
	Indexed []string `json:"indexed,omitempty"`
}

var (
	collectionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	fieldPattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)

// measureNamePattern is what follows the module's id in a measure's id.
var measureNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// Validate reports every problem of the manifest at once.
func (m Manifest) Validate() error {
	var problems []error
	if !idPattern.MatchString(m.ID) {
		problems = append(problems, fmt.Errorf("id %q: use 2 to 32 lowercase letters, digits or dashes, starting with a letter", m.ID))
	}
	if m.Name == "" {
		problems = append(problems, errors.New("name is empty"))
	}
	if m.Vendor == "" {
		problems = append(problems, errors.New("vendor is empty"))
	}
	if !isSemver(m.Version) {
		problems = append(problems, fmt.Errorf("version %q is not a semantic version such as 1.2.0", m.Version))
	}
	if m.Protocol != ProtocolVersion {
		problems = append(problems, fmt.Errorf("protocol %d is not supported; this SDK speaks protocol %d", m.Protocol, ProtocolVersion))
	}
	if len(m.Settings) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(m.Settings, &schema); err != nil || schema == nil {
			problems = append(problems, errors.New("settings: the schema is not a JSON object"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Collections)) {
		if !collectionPattern.MatchString(name) {
			problems = append(problems, fmt.Errorf("collection %q: use 1 to 64 lowercase letters, digits or underscores, starting with a letter", name))
		}
		indexed := m.Collections[name].Indexed
		for i, f := range indexed {
			if !fieldPattern.MatchString(f) {
				problems = append(problems, fmt.Errorf("collection %s: indexed field %q is not a field name", name, f))
			}
			if slices.Contains(indexed[:i], f) {
				problems = append(problems, fmt.Errorf("collection %s: indexed field %s is listed twice", name, f))
			}
		}
	}
	for _, code := range slices.Sorted(maps.Keys(m.Workflows)) {
		if !collectionPattern.MatchString(code) {
			problems = append(problems, fmt.Errorf("workflow %q: use 1 to 64 lowercase letters, digits or underscores, starting with a letter", code))
		}
		var definition map[string]any
		if err := json.Unmarshal(m.Workflows[code], &definition); err != nil || definition == nil {
			problems = append(problems, fmt.Errorf("workflow %s: the definition is not a JSON object", code))
		}
	}
	for i, code := range m.PublicStart {
		if _, ok := m.Workflows[code]; !ok {
			problems = append(problems, fmt.Errorf("public_start %q: the manifest has no workflow of that code", code))
		}
		if slices.Contains(m.PublicStart[:i], code) {
			problems = append(problems, fmt.Errorf("public_start %s is listed twice", code))
		}
	}
	for i, d := range m.Measures {
		name, ok := strings.CutPrefix(d.ID, m.ID+".")
		if !ok || !measureNamePattern.MatchString(name) {
			problems = append(problems, fmt.Errorf("measure %q: an id is the module's id, a dot, and dotted lowercase words: %s.documents.sent", d.ID, m.ID))
		}
		if slices.ContainsFunc(m.Measures[:i], func(o MeasureDef) bool { return o.ID == d.ID }) {
			problems = append(problems, fmt.Errorf("measure %s is declared twice", d.ID))
		}
		if strings.TrimSpace(d.Label.ZH) == "" || strings.TrimSpace(d.Label.EN) == "" || strings.TrimSpace(d.Counts.ZH) == "" || strings.TrimSpace(d.Counts.EN) == "" {
			problems = append(problems, fmt.Errorf("measure %s: give its label and what one count is, in zh-CN and en", d.ID))
		}
	}
	for i, r := range m.Public {
		if !slices.Contains(publicMethods, r.Method) {
			problems = append(problems, fmt.Errorf("public route %d: method %q is not one of %s", i, r.Method, strings.Join(publicMethods, ", ")))
		}
		if err := validPublicPath(r.Path); err != nil {
			problems = append(problems, fmt.Errorf("public route %d: path %q %w", i, r.Path, err))
		}
	}
	return errors.Join(problems...)
}

// ParseManifest reads a manifest from JSON, refusing unknown fields so a
// misspelt one is noticed, and validates it.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if len(onejson.Rest(data, dec)) != 0 {
		return Manifest{}, errors.New("manifest: more than one JSON value")
	}
	if name, ok := onejson.DuplicateKey(data); ok {
		return Manifest{}, fmt.Errorf("manifest: %q is named twice in one object", name)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

// isSemver accepts full semantic versions only: 1.2.0, 1.2.0-rc.1, not the
// shorthand 1.2 that golang.org/x/mod/semver also takes.
func isSemver(v string) bool {
	withoutBuild, _, _ := strings.Cut(v, "+")
	return semver.IsValid("v"+v) && semver.Canonical("v"+v) == "v"+withoutBuild
}

// JSON is the manifest as the host's catalog stores it.
func (m Manifest) JSON() ([]byte, error) {
	return json.Marshal(m)
}

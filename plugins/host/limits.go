package host

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// What a manifest may hold. The SDK knows none of these: the host keeps
// them whatever SDK a plugin was built with.
const (
	maxManifestBytes = 60 << 10
	maxCollections   = 32
	// maxIndexedFields per collection: each is a column and an index of
	// the county's records table.
	maxIndexedFields = 16
	maxWorkflows     = 16
	// maxMeasures per module, and the lengths of a measure's id (the
	// counties' schemas keep 96 bytes), label and what one count is.
	maxMeasures       = 64
	maxMeasureIDBytes = 96
	maxMeasureLabel   = 64
	maxMeasureCounts  = 200
	// maxPublicRoutes and maxPublicPath bound the routes a module opens
	// to anyone, and each one's path.
	maxPublicRoutes = 32
	maxPublicPath   = 256
	// maxSettingsBytes bounds the settings a county gives a module.
	maxSettingsBytes = 64 << 10
	// maxSchemaDepth and maxSchemaCost bound a settings schema: its
	// nesting, and the number of subschemas a validation may visit, each
	// $ref counted as often as it is reached (so a chain of allOf whose
	// every step refers twice to the one before costs what it would cost
	// to validate, not what it costs to write).
	maxSchemaDepth = 32
	maxSchemaCost  = 10_000
)

// ErrManifest is the error of a manifest over the host's limits.
var ErrManifest = errors.New("manifest over the host's limits")

// checkManifestSize refuses a manifest larger than the host reads.
func checkManifestSize(data []byte) error {
	if len(data) > maxManifestBytes {
		return fmt.Errorf("%w: it is %d bytes; a manifest may have %d", ErrManifest, len(data), maxManifestBytes)
	}
	return nil
}

// checkManifestLimits refuses a manifest with more collections, indexed
// fields, workflows or measures than the host keeps for a module, or
// measures with longer ids and labels.
func checkManifestLimits(m sdk.Manifest) error {
	var problems []error
	if len(m.Collections) > maxCollections {
		problems = append(problems, fmt.Errorf("%d collections; a module may have %d", len(m.Collections), maxCollections))
	}
	for _, name := range slices.Sorted(maps.Keys(m.Collections)) {
		if n := len(m.Collections[name].Indexed); n > maxIndexedFields {
			problems = append(problems, fmt.Errorf("collection %s indexes %d fields; a collection may index %d", name, n, maxIndexedFields))
		}
	}
	if len(m.Workflows) > maxWorkflows {
		problems = append(problems, fmt.Errorf("%d workflows; a module may have %d", len(m.Workflows), maxWorkflows))
	}
	if len(m.Measures) > maxMeasures {
		problems = append(problems, fmt.Errorf("%d measures; a module may have %d", len(m.Measures), maxMeasures))
	}
	for _, d := range m.Measures {
		if len(d.ID) > maxMeasureIDBytes {
			problems = append(problems, fmt.Errorf("measure %s: its id has %d bytes; an id may have %d", d.ID, len(d.ID), maxMeasureIDBytes))
		}
		for _, t := range []struct {
			what string
			text sdk.Text
			max  int
		}{{"label", d.Label, maxMeasureLabel}, {"counts", d.Counts, maxMeasureCounts}} {
			if n := max(utf8.RuneCountInString(t.text.ZH), utf8.RuneCountInString(t.text.EN)); n > t.max {
				problems = append(problems, fmt.Errorf("measure %s: its %s has %d characters; it may have %d", d.ID, t.what, n, t.max))
			}
		}
	}
	if len(m.Public) > maxPublicRoutes {
		problems = append(problems, fmt.Errorf("%d public routes; a module may have %d", len(m.Public), maxPublicRoutes))
	}
	for i, r := range m.Public {
		if len(r.Path) > maxPublicPath {
			problems = append(problems, fmt.Errorf("public route %d: its path is %d bytes; a public route's path may have %d", i, len(r.Path), maxPublicPath))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s %s: %w", ErrManifest, m.ID, m.Version, errors.Join(problems...))
	}
	return nil
}

// errSchemaRef is the error of a settings schema that refers outside
// itself: the host loads nothing a schema names.
var errSchemaRef = errors.New("a settings schema may refer only within itself (\"$ref\": \"#/…\")")

// refuseLoader is the settings compiler's loader: it loads nothing, so a
// schema reads no file, URL or FIFO, and no error shows their content.
type refuseLoader struct{}

func (refuseLoader) Load(string) (any, error) { return nil, errSchemaRef }

// schemaCost walks a settings schema (as jsonschema.UnmarshalJSON reads
// it) and refuses one that refers outside itself, to itself, or costs
// more than maxSchemaCost to validate.
func schemaCost(doc any) error {
	w := schemaWalk{root: doc, cost: map[string]int{}, open: map[string]bool{}}
	total, err := w.node(doc, "", 0)
	if err != nil {
		return err
	}
	if total > maxSchemaCost {
		return fmt.Errorf("the schema costs over %d subschemas to validate; a settings schema may cost %d", maxSchemaCost, maxSchemaCost)
	}
	return nil
}

type schemaWalk struct {
	root any
	// cost is the cost of each $ref's target, by its JSON pointer; open
	// are the targets being walked, so a $ref back to one is recursion.
	cost map[string]int
	open map[string]bool
}

// node returns the cost of v, capped a little above maxSchemaCost.
func (w *schemaWalk) node(v any, at string, depth int) (int, error) {
	if depth > maxSchemaDepth {
		return 0, fmt.Errorf("the schema nests deeper than %d at %q", maxSchemaDepth, at)
	}
	cost := 1
	add := func(c int) { cost = min(cost+c, maxSchemaCost+1) }
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if s, ok := v[k].(string); ok {
				c, err := w.keyword(k, s)
				if err != nil {
					return 0, err
				}
				add(c)
				continue
			}
			c, err := w.node(v[k], at+"/"+escapePointer(k), depth+1)
			if err != nil {
				return 0, err
			}
			add(c)
		}
	case []any:
		for i, e := range v {
			c, err := w.node(e, at+"/"+strconv.Itoa(i), depth+1)
			if err != nil {
				return 0, err
			}
			add(c)
		}
	}
	return cost, nil
}

// keyword checks a string-valued member of a schema and returns the cost
// a $ref adds.
func (w *schemaWalk) keyword(k, s string) (int, error) {
	switch k {
	case "$ref":
		return w.ref(s)
	case "$id", "id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef", "$recursiveAnchor":
		return 0, fmt.Errorf("%s %q: %w", k, s, errSchemaRef)
	case "$schema":
		// A meta-schema the compiler knows is built in; any other would
		// have to be loaded.
		if !strings.HasPrefix(s, "http://json-schema.org/") && !strings.HasPrefix(s, "https://json-schema.org/") {
			return 0, fmt.Errorf("$schema %q: %w", s, errSchemaRef)
		}
	}
	return 0, nil
}

func (w *schemaWalk) ref(s string) (int, error) {
	frag, ok := strings.CutPrefix(s, "#")
	if !ok || (frag != "" && !strings.HasPrefix(frag, "/")) {
		return 0, fmt.Errorf("$ref %q: %w", s, errSchemaRef)
	}
	pointer, err := url.PathUnescape(frag)
	if err != nil {
		return 0, fmt.Errorf("$ref %q: %w", s, errSchemaRef)
	}
	if c, ok := w.cost[pointer]; ok {
		return c, nil
	}
	if w.open[pointer] {
		return 0, fmt.Errorf("$ref %q refers to a schema that contains it; a settings schema may not recurse", s)
	}
	target, ok := resolvePointer(w.root, pointer)
	if !ok {
		return 0, fmt.Errorf("$ref %q points nowhere in the schema", s)
	}
	w.open[pointer] = true
	c, err := w.node(target, pointer, strings.Count(pointer, "/"))
	delete(w.open, pointer)
	if err != nil {
		return 0, err
	}
	w.cost[pointer] = c
	return c, nil
}

func resolvePointer(v any, pointer string) (any, bool) {
	if pointer == "" {
		return v, true
	}
	for _, token := range strings.Split(pointer, "/")[1:] {
		token = strings.NewReplacer("~1", "/", "~0", "~").Replace(token)
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[token]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func escapePointer(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// exponentialSchema is a chain of n definitions, each an allOf of two
// references to the one before: short to write, 2^n to validate.
func exponentialSchema(n int) string {
	defs := []string{`"d0":{"type":"string"}`}
	for i := 1; i <= n; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i-1, i-1))
	}
	return fmt.Sprintf(`{"type":"object","$defs":{%s},"properties":{"x":{"$ref":"#/$defs/d%d"}}}`, strings.Join(defs, ","), n)
}

func TestASettingsSchemaLoadsNothingItRefersTo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"description":"the host's secret 机密"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, schema := range map[string]string{
		"a file":                        `{"type":"object","properties":{"x":{"$ref":"file://` + secret + `"}}}`,
		"a FIFO":                        `{"$ref":"file://` + fifo + `"}`,
		"a URL":                         `{"$ref":"http://127.0.0.1:9/schema.json"}`,
		"a relative file":               `{"$ref":"secret.json"}`,
		"a base that makes it a file":   `{"$id":"file://` + dir + `/","$ref":"secret.json"}`,
		"a meta-schema of its own":      `{"$schema":"file://` + secret + `"}`,
		"an anchor in another":          `{"$ref":"file://` + secret + `#x"}`,
		"a dynamic reference":           `{"$dynamicRef":"file://` + secret + `"}`,
		"itself, forever":               `{"type":"object","properties":{"x":{"$ref":"#"}}}`,
		"a definition that contains it": `{"$defs":{"a":{"properties":{"b":{"$ref":"#/$defs/a"}}}},"$ref":"#/$defs/a"}`,
		"an exponential chain":          exponentialSchema(40),
		"nothing":                       `{"$ref":"#/$defs/none"}`,
	} {
		_, err := CompileSettings(sdk.Manifest{ID: "hostile", Settings: json.RawMessage(schema)})
		if err == nil {
			t.Errorf("%s: compiled", name)
			continue
		}
		if strings.Contains(err.Error(), "机密") {
			t.Errorf("%s: the error shows the file: %v", name, err)
		}
	}
}

func TestASettingsSchemaWithinItselfCompiles(t *testing.T) {
	t.Parallel()
	for name, schema := range map[string]string{
		"definitions": `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"url":{"type":"string","format":"uri"}},` +
			`"properties":{"home":{"$ref":"#/$defs/url"},"mirror":{"$ref":"#/$defs/url"},"a~b":{"type":"integer"},"c":{"$ref":"#/properties/a~0b"}}}`,
		"a short chain": exponentialSchema(8),
		"draft 7":       `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"n":{"type":"number"}},"properties":{"n":{"$ref":"#/definitions/n"}}}`,
	} {
		s, err := CompileSettings(sdk.Manifest{ID: "fine", Settings: json.RawMessage(schema)})
		if err != nil || s == nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestManifestLimits(t *testing.T) {
	t.Parallel()
	fields := make([]string, 10_000)
	for i := range fields {
		fields[i] = fmt.Sprintf("f%d", i)
	}
	for name, m := range map[string]sdk.Manifest{
		"10,000 indexed fields": {Collections: map[string]sdk.Collection{"notes": {Indexed: fields}}},
		"17 indexed fields":     {Collections: map[string]sdk.Collection{"notes": {Indexed: fields[:17]}}},
		"33 collections": {Collections: func() map[string]sdk.Collection {
			out := map[string]sdk.Collection{}
			for i := range 33 {
				out[fmt.Sprintf("c%d", i)] = sdk.Collection{}
			}
			return out
		}()},
		"17 workflows": {Workflows: func() map[string]json.RawMessage {
			out := map[string]json.RawMessage{}
			for i := range 17 {
				out[fmt.Sprintf("w%d", i)] = json.RawMessage(`{}`)
			}
			return out
		}()},
		"65 measures": {ID: "oa", Measures: func() []sdk.MeasureDef {
			out := make([]sdk.MeasureDef, 65)
			for i := range out {
				out[i] = sdk.MeasureDef{ID: fmt.Sprintf("oa.m%d", i), Label: sdk.Text{ZH: "发文数", EN: "Sent"}, Counts: sdk.Text{ZH: "一份", EN: "one"}}
			}
			return out
		}()},
		"a measure id of 97 bytes": {ID: "oa", Measures: []sdk.MeasureDef{{ID: "oa." + strings.Repeat("m", 94), Label: sdk.Text{ZH: "发文数", EN: "Sent"}, Counts: sdk.Text{ZH: "一份", EN: "one"}}}},
		"a label of 65 characters": {ID: "oa", Measures: []sdk.MeasureDef{{ID: "oa.sent", Label: sdk.Text{ZH: strings.Repeat("发", 65), EN: "Sent"}, Counts: sdk.Text{ZH: "一份", EN: "one"}}}},
		"counts of 201 characters": {ID: "oa", Measures: []sdk.MeasureDef{{ID: "oa.sent", Label: sdk.Text{ZH: "发文数", EN: "Sent"}, Counts: sdk.Text{ZH: "一份", EN: strings.Repeat("o", 201)}}}},
	} {
		if err := checkManifestLimits(m); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := checkManifestLimits(sdk.Manifest{Collections: map[string]sdk.Collection{"notes": {Indexed: fields[:16]}}}); err != nil {
		t.Errorf("16 indexed fields: %v", err)
	}
	if err := checkManifestLimits(sdk.Manifest{ID: "oa", Measures: []sdk.MeasureDef{{ID: "oa." + strings.Repeat("m", 93), Label: sdk.Text{ZH: strings.Repeat("发", 64), EN: "Sent"}, Counts: sdk.Text{ZH: "一份", EN: strings.Repeat("o", 200)}}}}); err != nil {
		t.Errorf("a measure at the bounds: %v", err)
	}
	if err := checkManifestSize(make([]byte, maxManifestBytes+1)); !errors.Is(err, ErrManifest) {
		t.Errorf("a manifest over 60 KiB: %v", err)
	}
}

func TestSettingsOver64KiBAreRefused(t *testing.T) {
	t.Parallel()
	big := json.RawMessage(`{"x":"` + strings.Repeat("a", maxSettingsBytes) + `"}`)
	if _, err := checkSettings(sdk.Manifest{ID: "notes"}, big, nil); err == nil || !strings.Contains(err.Error(), "may have") {
		t.Fatalf("settings of %d bytes: %v", len(big), err)
	}
}

// FuzzCompileSettings compiles any schema: it refuses or compiles,
// without panicking or reading anything outside the schema.
func FuzzCompileSettings(f *testing.F) {
	f.Add(`{"type":"object","$defs":{"a":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/a"}}}`)
	f.Add(exponentialSchema(12))
	f.Add(`{"$ref":"file:///etc/passwd"}`)
	f.Add(`{"$ref":"#/properties/x","properties":{"x":{"$ref":"#"}}}`)
	f.Fuzz(func(t *testing.T, schema string) {
		if s, err := CompileSettings(sdk.Manifest{ID: "fuzz", Settings: json.RawMessage(schema)}); (s == nil) == (err == nil) {
			t.Fatalf("schema %v, error %v", s, err)
		}
	})
}

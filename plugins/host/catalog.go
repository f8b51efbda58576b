package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/mod/semver"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// Error codes of the catalog and of module requests.
const (
	CodeInvalidPlugin     = "invalid_plugin"
	CodeChecksumMismatch  = "plugin_checksum_mismatch"
	CodeProtocolMismatch  = "plugin_protocol_mismatch"
	CodePluginExists      = "plugin_version_exists"
	CodePluginNotFound    = "plugin_not_found"
	CodeInvalidSettings   = "invalid_module_settings"
	CodeModuleNotEnabled  = "module_not_enabled"
	CodeModuleUnavailable = "module_unavailable"
	CodeModuleFailed      = "module_failed"
	// CodeModuleAnswerTooLarge is a module's answer over MaxModuleAnswer.
	CodeModuleAnswerTooLarge = "module_answer_too_large"
	// CodePluginUnconfined: this host cannot confine a vendor's plugin.
	CodePluginUnconfined = "plugin_unconfined"
)

// Entry is a registered plugin version.
type Entry struct {
	ID       string       `json:"id"`
	Version  string       `json:"version"`
	SHA256   string       `json:"sha256"`
	File     string       `json:"file"`
	Builtin  bool         `json:"builtin"`
	Manifest sdk.Manifest `json:"manifest"`
	// Isolation is whether the version runs one process shared by its
	// counties or one per county.
	Isolation Isolation `json:"isolation"`
	At        time.Time `json:"registered_at"`
	By        string    `json:"registered_by"`
}

// Isolation is how the counties that enable a plugin version share its
// processes, chosen by the operator who registers it.
type Isolation string

const (
	// IsolationShared runs one process per version for every county that
	// enables it: the process sees each county's data during its
	// requests.
	IsolationShared Isolation = "shared"
	// IsolationCounty runs one process per county and version, so that
	// no county's data is ever in the memory of a process serving
	// another; each costs a process's memory and start.
	IsolationCounty Isolation = "county"
)

// ParseIsolation reads an isolation as an operator gives it; empty is
// shared.
func ParseIsolation(s string) (Isolation, error) {
	switch Isolation(s) {
	case "", IsolationShared:
		return IsolationShared, nil
	case IsolationCounty:
		return IsolationCounty, nil
	}
	// The value is not echoed: it is the caller's, of any length and bytes.
	return "", errs.Invalid(CodeInvalidPlugin, "isolation must be shared (one process for every county) or county (one process per county)")
}

// Module is a county's use of a plugin: the version it runs and its
// settings.
type Module struct {
	Tenant   string          `json:"tenant"`
	Plugin   string          `json:"plugin"`
	Version  string          `json:"version"`
	Enabled  bool            `json:"enabled"`
	Settings json.RawMessage `json:"settings"`
	At       time.Time       `json:"updated_at"`
	By       string          `json:"updated_by"`
}

// Repository keeps the catalog and the counties' modules (in the control
// plane).
type Repository interface {
	// Add registers e; errs.KindConflict if its version is registered.
	Add(ctx context.Context, e Entry) error
	// Entry is one version; errs.KindNotFound if it is not registered.
	Entry(ctx context.Context, id, version string) (Entry, error)
	Entries(ctx context.Context) ([]Entry, error)
	PutModule(ctx context.Context, m Module) error
	// Module is a county's use of plugin; errs.KindNotFound if it never
	// enabled it.
	Module(ctx context.Context, tenant, plugin string) (Module, error)
	Modules(ctx context.Context, tenant string) ([]Module, error)
	// Counties are those that ever enabled a module.
	Counties(ctx context.Context) ([]string, error)
	// Claim gives n.Name to n's owner unless it has one, and returns
	// its owner either way.
	Claim(ctx context.Context, n Namespace) (Namespace, error)
	// Namespace is the owner of name; errs.KindNotFound if none.
	Namespace(ctx context.Context, name string) (Namespace, error)
}

// Tenants says whether a county exists and is ready (the registry).
type Tenants interface {
	Ready(ctx context.Context, code string) error
}

// RegisterInput names a binary in the plugin directory, the SHA-256 the
// operator expects of it and, if the operator names it, the vendor it
// came from (its manifest must say the same).
type RegisterInput struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Isolation is shared (the default) or county.
	Isolation string `json:"isolation,omitempty"`
	Vendor    string `json:"vendor,omitempty"`
}

// EnableInput is what a county admin sets: the version (the newest if
// empty) and the settings, which the manifest's schema must accept.
type EnableInput struct {
	Version  string          `json:"version"`
	Settings json.RawMessage `json:"settings"`
}

var fileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// ParseSHA256 reads a hex SHA-256.
func ParseSHA256(s string) ([]byte, error) {
	sum, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(s)))
	if err != nil || len(sum) != 32 {
		return nil, errs.Invalid(CodeInvalidPlugin, "sha256 %q is not 64 hexadecimal digits", s)
	}
	return sum, nil
}

// CompileSettings compiles a manifest's settings schema; an empty one
// accepts any JSON object. It loads nothing the schema refers to and
// refuses a schema that would cost more than maxSchemaCost to validate.
func CompileSettings(m sdk.Manifest) (*jsonschema.Schema, error) {
	return compileSettings(m, nil)
}

// namesUnits reports whether a manifest's settings schema uses the format
// sdk.FormatUnitID.
func namesUnits(m sdk.Manifest) bool {
	return strings.Contains(string(m.Settings), `"`+sdk.FormatUnitID+`"`)
}

// compileSettings compiles as CompileSettings and, given the county's
// units, asserts the formats, sdk.FormatUnitID among them: an integer
// that is not one of units is refused.
func compileSettings(m sdk.Manifest, units map[int64]bool) (*jsonschema.Schema, error) {
	schema := m.Settings
	if len(schema) == 0 {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	if len(schema) > maxManifestBytes {
		return nil, fmt.Errorf("settings schema: it is %d bytes; a manifest may have %d", len(schema), maxManifestBytes)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(schema)))
	if err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	if err := schemaCost(doc); err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	if units != nil {
		c.RegisterFormat(&jsonschema.Format{Name: sdk.FormatUnitID, Validate: func(v any) error {
			n, ok := v.(json.Number)
			if !ok {
				// Not a number: the schema's type says what it must be.
				return nil
			}
			id, err := n.Int64()
			if err != nil || !units[id] {
				return fmt.Errorf("%s is not the id of one of the county's units (countycloud org units list)", n)
			}
			return nil
		}})
		c.AssertFormat()
	}
	url := "countycloud:" + m.ID + "/settings.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("settings schema: %w", err)
	}
	return compiled, nil
}

// checkSettings validates settings against the manifest's schema;
// units, the ids of the county's units, where the schema names units
// (sdk.FormatUnitID).
func checkSettings(m sdk.Manifest, settings json.RawMessage, units map[int64]bool) (json.RawMessage, error) {
	if len(settings) == 0 || string(settings) == "null" {
		settings = json.RawMessage(`{}`)
	}
	if len(settings) > maxSettingsBytes {
		return nil, errs.Invalid(CodeInvalidSettings, "settings are %d bytes; a module's settings may have %d", len(settings), maxSettingsBytes)
	}
	schema, err := compileSettings(m, units)
	if err != nil {
		return nil, errs.Invalid(CodeInvalidPlugin, "%s %s: %v", m.ID, m.Version, err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(settings)))
	if err != nil {
		return nil, errs.Invalid(CodeInvalidSettings, "settings are not JSON: %v", err)
	}
	if err := schema.Validate(doc); err != nil {
		return nil, errs.Invalid(CodeInvalidSettings, "settings of %s: %v", m.ID, err)
	}
	return settings, nil
}

// newest is the highest semantic version among entries of plugin from
// vendor.
func newest(entries []Entry, plugin, vendor string) (Entry, bool) {
	var best Entry
	found := false
	for _, e := range entries {
		if e.ID == plugin && e.Manifest.Vendor == vendor && (!found || semver.Compare("v"+e.Version, "v"+best.Version) > 0) {
			best, found = e, true
		}
	}
	return best, found
}

// pluginPath is where file lies in dir, refusing anything but a plain
// file name there.
func pluginPath(dir, file string) (string, error) {
	if !fileNamePattern.MatchString(file) || slices.Contains([]string{".", ".."}, file) {
		return "", errs.Invalid(CodeInvalidPlugin, "file %q: name a file in the plugin directory, without a path", file)
	}
	return filepath.Join(dir, file), nil
}

// asCatalogError turns a launch failure into the catalog's error codes.
func asCatalogError(err error) error {
	// The message is the cause's (API clients see only the message),
	// and the sentinel is kept for errors.Is without its text twice.
	switch {
	case errors.Is(err, ErrChecksum):
		return errs.Wrap(ErrChecksum, errs.KindInvalid, CodeChecksumMismatch, "%s", strings.TrimPrefix(err.Error(), ErrChecksum.Error()+": "))
	case errors.Is(err, ErrManifest):
		return errs.Wrap(ErrManifest, errs.KindInvalid, CodeInvalidPlugin, "%s", err.Error())
	case errors.Is(err, ErrProtocol):
		return errs.Wrap(ErrProtocol, errs.KindInvalid, CodeProtocolMismatch, "%s", strings.TrimPrefix(err.Error(), ErrProtocol.Error()+": "))
	}
	return err
}

// reservedID says whether id names one of the platform's own domains: a
// plugin's audit actions and workflows are prefixed with its id, and must
// never pass for the platform's (auth.login, workflow.act…).
func reservedID(id string) bool {
	switch id {
	case "audit", "auth", "billing", "calendar", "files", "jobs", "module", "modules", "notifications", "notify",
		"oa", "org", "platform", "plugin", "plugins", "rollout", "supervision", "system", "tenant", "tenants", "workflow":
		return true
	}
	return false
}

package host

import (
	"encoding/json"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/convenience"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// Settings naming units (sdk.FormatUnitID) are refused on enabling
// unless each is one of the county's units, wherever the schema puts it:
// a county admin names no unit the county lacks, nor one it will create
// next. Settings of a schema that names no units are checked as before.
func TestSettingsNameOnlyTheCountysUnits(t *testing.T) {
	t.Parallel()
	units := map[int64]bool{1: true, 2: true, 3: true, 5: true}
	m := convenience.Manifest()
	if !namesUnits(m) {
		t.Fatal("the convenience module's settings name no units")
	}
	for _, ok := range []string{`{}`, `{"it_office_unit_id": 1, "letters_unit_id": 2, "supervising_unit_id": 5, "routes": {"投诉": 3}}`} {
		if _, err := checkSettings(m, json.RawMessage(ok), units); err != nil {
			t.Errorf("settings %s: %v", ok, err)
		}
	}
	for _, bad := range []string{`{"it_office_unit_id": 4}`, `{"letters_unit_id": 99}`, `{"supervising_unit_id": 9007199254740993}`,
		`{"routes": {"投诉": 3, "求助": 6}}`, `{"it_office_unit_id": 1.5}`, `{"it_office_unit_id": "1"}`} {
		if _, err := checkSettings(m, json.RawMessage(bad), units); errs.CodeOf(err) != CodeInvalidSettings {
			t.Errorf("settings %s: %v, want %s", bad, err, CodeInvalidSettings)
		}
	}
	plain := sdk.Manifest{ID: "notes", Settings: json.RawMessage(`{"type": "object", "properties": {"unit": {"type": "integer"}, "mail": {"type": "string", "format": "email"}}}`)}
	if namesUnits(plain) {
		t.Error("a schema without the format names units")
	}
	if _, err := checkSettings(plain, json.RawMessage(`{"unit": 99, "mail": "x"}`), nil); err != nil {
		t.Errorf("a schema naming no units: %v", err)
	}
}

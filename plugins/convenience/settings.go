package convenience

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// settings are a county's choices for the module. Units are named by
// their ids in the county (countycloud org units list): a unit's code is
// optional, its id is not.
type settings struct {
	// ITOfficeUnitID is the county's IT office (信息中心), which routes
	// messages, reviews replies and reads the oversight report.
	ITOfficeUnitID int64 `json:"it_office_unit_id"`
	// LettersUnitID is the letters-and-visits bureau (信访局), which
	// reads every message.
	LettersUnitID int64 `json:"letters_unit_id"`
	// SupervisingUnitID is the supervising unit (监察局, 督查室), which
	// reads the oversight report; the platform's supervision escalates
	// red tasks to the unit its own settings name.
	SupervisingUnitID int64 `json:"supervising_unit_id"`
	// Routes are the rules by category: the unit a message of the
	// category goes to as it is left (with ITOfficeUnitID set), or, left
	// before the rule, when the IT office routes it without naming one.
	Routes map[string]int64 `json:"routes"`
}

// parseSettings reads the county's settings; the host validated them
// against settingsSchema.
func parseSettings(raw json.RawMessage) (settings, error) {
	var s settings
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return settings{}, fmt.Errorf("read settings: %w", err)
	}
	return s, nil
}

// settingsSchema is the JSON Schema of the settings a county enables the
// module with. Every unit is of format sdk.FormatUnitID: the host refuses
// an id that is not one of the county's units, so that no setting gives
// rights or messages to a unit the county lacks or creates later.
const settingsSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "便民服务",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "it_office_unit_id": {"description": "The id of the county's IT office (信息中心): routes messages, reviews replies, reads the oversight report.", "type": "integer", "minimum": 1, "format": "countycloud-unit-id"},
    "letters_unit_id": {"description": "The id of the letters-and-visits bureau (信访局): reads every message.", "type": "integer", "minimum": 1, "format": "countycloud-unit-id"},
    "supervising_unit_id": {"description": "The id of the supervising unit: reads the oversight report.", "type": "integer", "minimum": 1, "format": "countycloud-unit-id"},
    "routes": {
      "description": "The unit each category of message goes to as it is left (with it_office_unit_id set), or when the IT office routes one left before the rule without naming a unit.",
      "type": "object",
      "propertyNames": {"enum": ["咨询", "投诉", "求助", "建议"]},
      "additionalProperties": {"type": "integer", "minimum": 1, "format": "countycloud-unit-id"}
    }
  }
}`

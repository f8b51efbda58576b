package disclosure

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// settings are a county's choices for the module, with the schema's
// defaults where it gave none (the host passes the county's object as
// given, without filling in defaults).
type settings struct {
	// OfficeUnitID names the unit whose admins grade reported
	// information beside the county's admins (the IT office); 0 names
	// none.
	OfficeUnitID int64 `json:"office_unit_id"`
	// IndexTarget is the disclosure index the county aims at, in
	// percent (one city's plan: 90).
	IndexTarget int `json:"index_target"`
	// MaxAttachmentBytes bounds one file of a report.
	MaxAttachmentBytes int64 `json:"max_attachment_bytes"`
	// AttachmentTypes are the media types a report's file may have.
	AttachmentTypes []string `json:"attachment_types"`
	// MaxAttachments bounds the files of one report.
	MaxAttachments int `json:"max_attachments"`
}

const (
	defaultIndexTarget        = 90
	defaultMaxAttachmentBytes = 20 << 20
	defaultMaxAttachments     = 10
)

func defaultAttachmentTypes() []string {
	return []string{
		"application/ofd",
		"application/pdf",
		"application/msword",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/wps-office.wps",
		"image/jpeg",
		"image/png",
	}
}

func defaultSettings() settings {
	return settings{IndexTarget: defaultIndexTarget, MaxAttachmentBytes: defaultMaxAttachmentBytes,
		AttachmentTypes: defaultAttachmentTypes(), MaxAttachments: defaultMaxAttachments}
}

// parseSettings reads the county's settings over the defaults; the host
// validated them against settingsSchema.
func parseSettings(raw json.RawMessage) (settings, error) {
	s := defaultSettings()
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return settings{}, fmt.Errorf("read settings: %w", err)
	}
	return s, nil
}

// settingsSchema is the JSON Schema of the settings a county enables the
// module with. A test holds its defaults to defaultSettings.
const settingsSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "政务公开",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "office_unit_id": {
      "description": "The unit whose admins and business admins grade reported information (信息报送) beside the county's admins; 0 for none.",
      "type": "integer",
      "minimum": 0,
      "default": 0
    },
    "index_target": {
      "description": "The disclosure index (公开指数) the county aims at, in percent.",
      "type": "integer",
      "minimum": 1,
      "maximum": 100,
      "default": 90
    },
    "max_attachment_bytes": {
      "description": "The largest file of a report accepted, in bytes.",
      "type": "integer",
      "minimum": 1024,
      "maximum": 1073741824,
      "default": 20971520
    },
    "attachment_types": {
      "description": "The media types a report's files may have.",
      "type": "array",
      "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$"},
      "minItems": 1,
      "maxItems": 64,
      "uniqueItems": true,
      "default": ["application/ofd", "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/wps-office.wps",
        "image/jpeg", "image/png"]
    },
    "max_attachments": {
      "description": "The most files one report may have.",
      "type": "integer",
      "minimum": 1,
      "maximum": 50,
      "default": 10
    }
  }
}`

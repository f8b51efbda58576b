package oa

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// settings are a county's choices for the module, with the schema's
// defaults where it gave none (the host passes the county's object as
// given, without filling in defaults).
type settings struct {
	// MaxAttachmentBytes bounds one file of a document.
	MaxAttachmentBytes int64 `json:"max_attachment_bytes"`
	// AttachmentTypes are the media types a document's file may have.
	AttachmentTypes []string `json:"attachment_types"`
	// MaxAttachments bounds the files of one document.
	MaxAttachments int `json:"max_attachments"`
	// SMSReminders lets senders of notices and mail tick "SMS reminder"
	// (短信提醒), which costs the county money; the host reads it too.
	SMSReminders bool `json:"sms_reminders"`
}

// Defaults of the settings: 50 MiB a file, twenty files, and the formats
// official documents are exchanged in (OFD, the national layout format,
// PDF, Word and WPS documents, spreadsheets and scanned images).
const (
	defaultMaxAttachmentBytes = 50 << 20
	defaultMaxAttachments     = 20
)

func defaultAttachmentTypes() []string {
	return []string{
		"application/ofd",
		"application/pdf",
		"application/msword",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/wps-office.wps",
		"application/vnd.ms-excel",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"image/jpeg",
		"image/png",
	}
}

func defaultSettings() settings {
	return settings{MaxAttachmentBytes: defaultMaxAttachmentBytes, AttachmentTypes: defaultAttachmentTypes(), MaxAttachments: defaultMaxAttachments}
}

// parseSettings reads the county's settings over the defaults. The host
// validated them against settingsSchema; fields it does not know are
// left to the parts of the module that read them.
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
// module with; the host validates them against it. A test holds its
// defaults to defaultSettings.
const settingsSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "公文",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "max_attachment_bytes": {
      "description": "The largest file of a document (正文, 附件) accepted, in bytes.",
      "type": "integer",
      "minimum": 1024,
      "maximum": 1073741824,
      "default": 52428800
    },
    "attachment_types": {
      "description": "The media types a document's files may have.",
      "type": "array",
      "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$"},
      "minItems": 1,
      "maxItems": 64,
      "uniqueItems": true,
      "default": ["application/ofd", "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/wps-office.wps",
        "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "image/jpeg", "image/png"]
    },
    "max_attachments": {
      "description": "The most files one document may have.",
      "type": "integer",
      "minimum": 1,
      "maximum": 100,
      "default": 20
    },
    "sms_reminders": {
      "description": "Whether senders of notices and mail may tick SMS reminder (短信提醒), texting every recipient with a mobile number at the county's cost.",
      "type": "boolean",
      "default": false
    }
  }
}`

package vod

import "slices"

// category is a kind of video in the catalogue.
type category struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// categories are the kinds of video the module knows, in the order the
// catalogue offers them; a county's settings may allow fewer.
func categories() []category {
	return []category{
		{Code: "meetings", Name: "会议"},
		{Code: "training", Name: "培训"},
		{Code: "policy", Name: "政策解读"},
		{Code: "other", Name: "其他"},
	}
}

func categoryName(code string) string {
	i := slices.IndexFunc(categories(), func(c category) bool { return c.Code == code })
	if i < 0 {
		return ""
	}
	return categories()[i].Name
}

// settings are a county's choices for the module.
type settings struct {
	// Categories are the categories a new or changed video may take.
	Categories []string
	// MaxVideoBytes bounds the size of one video's file.
	MaxVideoBytes int64
}

// defaultMaxVideoBytes is 4 GiB, enough for a two-hour 1080p meeting
// recording; the schema allows up to the host's own limit of a file,
// 8 GiB.
const defaultMaxVideoBytes = 4 << 30

// defaultSettings are the settings schema's defaults: every category, and
// 4 GiB a video.
func defaultSettings() settings {
	codes := make([]string, 0, len(categories()))
	for _, c := range categories() {
		codes = append(codes, c.Code)
	}
	return settings{Categories: codes, MaxVideoBytes: defaultMaxVideoBytes}
}

// settingsSchema is the JSON Schema of the settings a county enables the
// module with; the host validates them against it. A test holds its
// enum and defaults to categories and defaultSettings.
const settingsSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "视频点播",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "categories": {
      "description": "The categories a video may take: meetings 会议, training 培训, policy 政策解读, other 其他.",
      "type": "array",
      "items": {"enum": ["meetings", "training", "policy", "other"]},
      "minItems": 1,
      "uniqueItems": true,
      "default": ["meetings", "training", "policy", "other"]
    },
    "max_video_bytes": {
      "description": "The largest video file accepted, in bytes.",
      "type": "integer",
      "minimum": 1048576,
      "maximum": 8589934592,
      "default": 4294967296
    }
  }
}`

// Package classified keeps classified content out (DOMAIN.md: documents
// marked 绝密, 机密 or 秘密 never enter the system). Every JSON body the
// platform accepts, a module's included, is checked here first.
package classified

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/countycloud/countycloud/core/errs"
)

// CodeRefused is the code of a body refused for its classification.
const CodeRefused = "classified_content_refused"

// levels are the classifications that are refused.
var levels = []string{"绝密", "机密", "秘密"}

// fields are the names a classification is submitted under.
var fields = []string{"classification", "secrecy_level", "密级"}

// Check refuses body if any object in it, at any depth, has a
// classification field set to one of the secret levels (alone or as in
// "机密★10年").
func Check(body []byte) error {
	// Most bodies name no such field: a scan for the names (and for
	// escapes, which could spell them) spares them a second parse.
	if !bytes.Contains(body, []byte(`\u`)) && !containsAny(body, fields) {
		return nil
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	if level, ok := find(v); ok {
		return errs.E(errs.KindForbidden, CodeRefused,
			"content classified %s is refused: classified documents never enter this system (谁上网，谁负责)", level)
	}
	return nil
}

func containsAny(body []byte, words []string) bool {
	lower := bytes.ToLower(body)
	for _, w := range words {
		if bytes.Contains(lower, []byte(w)) {
			return true
		}
	}
	return false
}

func find(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && isField(k) {
				for _, l := range levels {
					if strings.HasPrefix(strings.TrimSpace(s), l) {
						return l, true
					}
				}
			}
			if l, ok := find(x); ok {
				return l, true
			}
		}
	case []any:
		for _, x := range v {
			if l, ok := find(x); ok {
				return l, true
			}
		}
	}
	return "", false
}

func isField(k string) bool {
	for _, f := range fields {
		if strings.EqualFold(strings.TrimSpace(k), f) {
			return true
		}
	}
	return false
}

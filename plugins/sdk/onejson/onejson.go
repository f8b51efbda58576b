// Package onejson holds the rules every strict JSON reader of the
// platform and its modules shares, so that no two of them read one body
// two ways: one value, then nothing but JSON's own white space; and no
// object naming a member twice.
package onejson

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// space is JSON's white space (RFC 8259, section 2). bytes.TrimSpace
// would also pass \v, \f, U+0085 and U+00A0, which no JSON parser takes,
// so a body one reader accepted another would refuse.
const space = " \t\r\n"

// Rest is what follows the value dec last decoded from b, past JSON's
// white space: empty when b held that one value and nothing more.
// json.Decoder.More misses a stray ] or }, so this is what to check.
func Rest(b []byte, dec *json.Decoder) []byte {
	return bytes.TrimLeft(b[dec.InputOffset():], space)
}

// Blank says whether b is nothing but JSON's white space.
func Blank(b []byte) bool {
	return len(bytes.TrimLeft(b, space)) == 0
}

// DuplicateKey finds the first object member in the JSON value b that
// names a member of the same object again, ignoring case as
// encoding/json does when it fills a struct: {"role":"clerk",
// "Role":"operator"} is filled with the last, while a reader that looks
// at the first, or matches case exactly, sees another body. It reports
// the repeated name and true, or "" and false; b must be valid JSON.
func DuplicateKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	// One frame per open array or object; an object's frame holds the
	// folded names met so far and whether a name comes next.
	type frame struct {
		names   map[string]struct{}
		wantKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].names != nil && stack[top].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
				continue
			}
			name := tok.(string)
			folded := fold(name)
			if _, seen := stack[top].names[folded]; seen {
				return name, true
			}
			stack[top].names[folded] = struct{}{}
			stack[top].wantKey = false
			continue
		}
		if top >= 0 && stack[top].names != nil {
			stack[top].wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{names: map[string]struct{}{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:top]
		}
	}
}

// fold maps every name encoding/json would take for one another to the
// same string: each rune to the least of its case-folding orbit (so "K",
// "k" and the Kelvin sign meet, as "S", "s" and "ſ" do).
func fold(name string) string {
	out := make([]byte, 0, len(name))
	for _, r := range name {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out = utf8.AppendRune(out, least)
	}
	return string(out)
}

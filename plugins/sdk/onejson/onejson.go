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
	if json.Valid(b) {
		return duplicateKeyWalked(b)
	}
	return duplicateKeyByTokens(b)
}

// duplicateKeyWalked is DuplicateKey of valid JSON, found by walking b:
// every body a route takes is checked, and decoding it token by token
// cost the host and the module about a hundred allocations a request.
func duplicateKeyWalked(b []byte) (string, bool) {
	// One frame per open array or object; an object's frame holds the
	// names met so far.
	var stack []*names
	wantKey := false
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, &names{})
			wantKey = true
		case '[':
			stack = append(stack, nil)
			wantKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			wantKey = stack[len(stack)-1] != nil
		case '"':
			start := i
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if wantKey {
				if stack[len(stack)-1].seen(b[start : i+1]) {
					return unquote(b[start : i+1]), true
				}
				wantKey = false
			}
		}
	}
	return "", false
}

// names are the names of an object's members met so far, as decoded:
// compared each with each while they are few, then by their folds.
type names struct {
	few    [][]byte
	folded map[string]struct{}
}

// fewNames is how many names are compared each with each.
const fewNames = 16

// seen says whether quoted, a member's name as written, names a member
// met before, and adds it.
func (n *names) seen(quoted []byte) bool {
	name := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		name = []byte(unquote(quoted))
	}
	if n.folded != nil {
		f := fold(string(name))
		_, dup := n.folded[f]
		n.folded[f] = struct{}{}
		return dup
	}
	for _, other := range n.few {
		// Rune by rune in one case-folding orbit: what fold maps to
		// one string, invalid UTF-8 included (U+FFFD for both).
		if bytes.EqualFold(other, name) {
			return true
		}
	}
	if n.few = append(n.few, name); len(n.few) > fewNames {
		n.folded = make(map[string]struct{}, 2*fewNames)
		for _, other := range n.few {
			n.folded[fold(string(other))] = struct{}{}
		}
		n.few = nil
	}
	return false
}

// unquote is the string quoted, a valid JSON string, as encoding/json
// decodes it.
func unquote(quoted []byte) string {
	var s string
	_ = json.Unmarshal(quoted, &s)
	return s
}

// duplicateKeyByTokens is DuplicateKey of what is not valid JSON, as far
// as it can be read.
func duplicateKeyByTokens(b []byte) (string, bool) {
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

package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/countycloud/countycloud/core/jsonwalk"
)

// DigestJSON is Digest of the value the JSON text doc holds, decoded by
// encoding/json with its numbers kept as written (UseNumber): nil for
// null. doc must be valid JSON. The value is written as json.Marshal
// writes it — members sorted by name, the last of a name twice kept,
// strings escaped for HTML — straight from doc: a plugin's record is
// digested at each audited write, and decoding it into maps to encode
// them again was a hundred allocations a submission.
func DigestJSON(doc []byte) *string {
	p := parser{doc: doc}
	v, _ := p.value(jsonwalk.SkipSpace(doc, 0))
	if v.raw != nil && string(v.raw) == "null" {
		return nil
	}
	sum := sha256.Sum256(v.appendTo(make([]byte, 0, len(doc))))
	d := hex.EncodeToString(sum[:])
	return &d
}

// value is a JSON value of a valid text: a scalar as written, or an
// array's elements, or an object's members sorted by name, one a name.
type value struct {
	// name is the member's name, decoded, when the value is an object's.
	name []byte
	// raw is a scalar as written, nil for an array or object.
	raw []byte
	// open is '[' or '{' for an array or object.
	open  byte
	items []value
}

// parser reads the values of valid JSON doc.
type parser struct {
	doc []byte
	// open holds the items of the arrays and objects being read, the
	// innermost's last: each gets its own when it closes, in one
	// allocation.
	open []value
}

// value is the value at i, and the index past it.
func (p *parser) value(i int) (value, int) {
	b := p.doc
	switch c := b[i]; c {
	case '{', '[':
		v := value{open: c}
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		first := len(p.open)
		for i = jsonwalk.SkipSpace(b, i+1); b[i] != end; {
			var name []byte
			if c == '{' {
				nameEnd := jsonwalk.StringEnd(b, i)
				name = jsonwalk.String(b[i:nameEnd])
				i = jsonwalk.SkipSpace(b, jsonwalk.SkipSpace(b, nameEnd)+1)
			}
			var item value
			item, i = p.value(i)
			item.name = name
			p.open = append(p.open, item)
			if i = jsonwalk.SkipSpace(b, i); b[i] == ',' {
				i = jsonwalk.SkipSpace(b, i+1)
			}
		}
		v.items = slices.Clone(p.open[first:])
		p.open = p.open[:first]
		if c == '{' {
			v.items = lastOfEachName(v.items)
		}
		return v, i + 1
	}
	// A string, a number, true, false or null.
	end := jsonwalk.ValueEnd(b, i)
	return value{raw: b[i:end]}, end
}

// lastOfEachName sorts members by name, keeping the last of a name
// given twice, as a decoded map holds them.
func lastOfEachName(members []value) []value {
	slices.SortStableFunc(members, func(a, b value) int { return bytes.Compare(a.name, b.name) })
	kept := members[:0]
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(members[i+1].name, m.name) {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// appendTo appends v as json.Marshal writes the value decoded from it.
func (v value) appendTo(dst []byte) []byte {
	if v.open == 0 {
		if v.raw[0] == '"' {
			return appendMarshalledString(dst, jsonwalk.String(v.raw))
		}
		// A number as written (json.Number), true, false or null.
		return append(dst, v.raw...)
	}
	dst = append(dst, v.open)
	for i, item := range v.items {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v.open == '{' {
			dst = appendMarshalledString(dst, item.name)
			dst = append(dst, ':')
		}
		dst = item.appendTo(dst)
	}
	if v.open == '{' {
		return append(dst, '}')
	}
	return append(dst, ']')
}

// appendMarshalledString appends s, valid UTF-8, as json.Marshal writes
// a string: as it is between quotes unless it holds what Marshal
// escapes.
func appendMarshalledString(dst, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c == 0xe2 {
			// 0xe2 starts U+2028 and U+2029, which Marshal escapes.
			quoted, _ := json.Marshal(string(s))
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

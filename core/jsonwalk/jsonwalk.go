// Package jsonwalk finds the parts of valid JSON text by walking it,
// without decoding it: where readers need a few members of a document,
// or its members in an order of their own, decoding the whole into maps
// costs an allocation a value.
package jsonwalk

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// SkipSpace is the index of the first byte at or after i of valid
// JSON data that is not white space.
func SkipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// StringEnd is the index just past the string that starts at i of
// valid JSON data.
func StringEnd(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// ValueEnd is the index just past the value that starts at i of
// valid JSON data.
func ValueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return StringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch data[i] {
			case '"':
				i = StringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(data) && bytes.IndexByte([]byte(",}] \t\r\n"), data[i]) < 0 {
		i++
	}
	return i
}

// String is the JSON string quoted, as written in valid JSON, as
// encoding/json decodes it: itself between the quotes when it escapes
// nothing and is valid UTF-8.
func String(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	var s string
	_ = json.Unmarshal(quoted, &s)
	return []byte(s)
}

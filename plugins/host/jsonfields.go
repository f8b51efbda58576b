package host

import (
	"bytes"
	"encoding/json"
)

// objectFields returns the raw values of the top-level fields of the
// JSON object document that names holds, each where names has it (nil
// where the object has none; the last where it has the field twice, as
// encoding/json keeps it), or false if document is not a JSON object.
// Every record written is indexed, and decoding its whole document into
// a map to read a few fields was most of what the host spent on a batch
// of records: once the document is checked valid, its fields are found
// by walking it.
func objectFields(document []byte, names []string) ([]json.RawMessage, bool) {
	if !json.Valid(document) {
		return nil, false
	}
	i := skipJSONSpace(document, 0)
	if document[i] != '{' {
		return nil, false
	}
	out := make([]json.RawMessage, len(names))
	for i = skipJSONSpace(document, i+1); document[i] != '}'; {
		keyEnd := jsonStringEnd(document, i)
		key := document[i:keyEnd]
		start := skipJSONSpace(document, skipJSONSpace(document, keyEnd)+1)
		end := jsonValueEnd(document, start)
		for _, at := range fieldIndexes(names, key) {
			out[at] = document[start:end]
		}
		if i = skipJSONSpace(document, end); document[i] == ',' {
			i = skipJSONSpace(document, i+1)
		}
	}
	return out, true
}

// fieldIndexes are where names holds the field of the JSON string key.
func fieldIndexes(names []string, key []byte) []int {
	name := key[1 : len(key)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		var s string
		if json.Unmarshal(key, &s) != nil {
			return nil
		}
		name = []byte(s)
	}
	var at []int
	for i, n := range names {
		if string(name) == n {
			at = append(at, i)
		}
	}
	return at
}

// skipJSONSpace is the index of the first byte at or after i of valid
// JSON data that is not white space.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// jsonStringEnd is the index just past the string that starts at i of
// valid JSON data.
func jsonStringEnd(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// jsonValueEnd is the index just past the value that starts at i of
// valid JSON data.
func jsonValueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return jsonStringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch data[i] {
			case '"':
				i = jsonStringEnd(data, i) - 1
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

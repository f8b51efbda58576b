package host

import (
	"encoding/json"

	"github.com/countycloud/countycloud/core/jsonwalk"
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
	i := jsonwalk.SkipSpace(document, 0)
	if document[i] != '{' {
		return nil, false
	}
	out := make([]json.RawMessage, len(names))
	for i = jsonwalk.SkipSpace(document, i+1); document[i] != '}'; {
		keyEnd := jsonwalk.StringEnd(document, i)
		key := document[i:keyEnd]
		start := jsonwalk.SkipSpace(document, jsonwalk.SkipSpace(document, keyEnd)+1)
		end := jsonwalk.ValueEnd(document, start)
		for _, at := range fieldIndexes(names, key) {
			out[at] = document[start:end]
		}
		if i = jsonwalk.SkipSpace(document, end); document[i] == ',' {
			i = jsonwalk.SkipSpace(document, i+1)
		}
	}
	return out, true
}

// fieldIndexes are where names holds the field of the JSON string key.
func fieldIndexes(names []string, key []byte) []int {
	name := jsonwalk.String(key)
	var at []int
	for i, n := range names {
		if string(name) == n {
			at = append(at, i)
		}
	}
	return at
}

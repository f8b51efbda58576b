package host

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

// FuzzNumberTemplate checks the setting of a number into a document: a
// document refused is no JSON object; one accepted comes out a JSON
// object holding the number in its field and, besides, exactly what it
// held.
func FuzzNumberTemplate(f *testing.F) {
	for _, seed := range []struct {
		doc, field string
	}{
		{`{}`, "no"},
		{`{"no":"x","title":"<通知>"}`, "no"},
		{`{"a":{"no":1},"no":[1,2],"no":3}`, "no"},
		{` { "b" : 1 , "a" : "\u0041\ud800" } `, "a"},
		{`[1]`, "no"},
		{`null`, "no"},
		{`{"a":1}x`, "no"},
	} {
		f.Add(seed.doc, seed.field, int64(7))
	}
	f.Fuzz(func(t *testing.T, doc, field string, number int64) {
		if !numberFieldPattern.MatchString(field) || number < 1 {
			return
		}
		tmpl, err := numberTemplate([]byte(doc), field)
		var in map[string]any
		isObject := json.Unmarshal([]byte(doc), &in) == nil && in != nil
		if err != nil {
			if isObject && len(doc) <= MaxDocumentBytes {
				t.Fatalf("refused the object %q: %v", doc, err)
			}
			return
		}
		if !isObject {
			t.Fatalf("accepted %q, which is no JSON object", doc)
		}
		out := tmpl.with(number)
		var got map[string]any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil || dec.More() {
			t.Fatalf("numbered %q is not one JSON object: %s (%v)", doc, out, err)
		}
		if n, ok := got[field].(json.Number); !ok || n.String() != strconv.FormatInt(number, 10) {
			t.Fatalf("numbered %q holds %v in %s, not %d: %s", doc, got[field], field, number, out)
		}
		var rest map[string]any
		if err := json.Unmarshal(tmpl.rest, &rest); err != nil {
			t.Fatalf("the rest of %q is no object: %s", doc, tmpl.rest)
		}
		var outAll map[string]any
		_ = json.Unmarshal(out, &outAll)
		delete(in, field)
		delete(outAll, field)
		if !reflect.DeepEqual(in, outAll) || !reflect.DeepEqual(in, rest) {
			t.Fatalf("numbered %q changed what else it holds: %s", doc, out)
		}
	})
}

package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
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

// FuzzNumberTemplateAsEncodingJSONWritesIt checks that the walked
// document waiting for its number is, byte for byte, what decoding it
// into a map and encoding the map wrote before the walk replaced it.
func FuzzNumberTemplateAsEncodingJSONWritesIt(f *testing.F) {
	for _, seed := range []struct {
		doc, field string
	}{
		{`{}`, "no"},
		{`{"no":1}`, "no"},
		{`{"title":"关于<冬季>&防火","unit":"12"}`, "no"},
		{`{"a":{"no":1},"no":[1,2],"no":3}`, "no"},
		{` { "b" : 1 , "a" : "\u0041\ud800", "\u2028k":[ 1 , {"z":1,"y":2} ] } `, "a"},
		{`{"\"q\\":"x","<":">","\u007f":1e3,"a":1,"\u0061":2}`, "b"},
		{"{\"\xff\":\"\xfe\",\"a\":true}", "no"},
		{`[1]`, "no"},
		{`null`, "no"},
		{`{"a":1}x`, "no"},
	} {
		f.Add(seed.doc, seed.field)
	}
	f.Fuzz(func(t *testing.T, doc, field string) {
		if !numberFieldPattern.MatchString(field) {
			return
		}
		want, wantErr := numberTemplateByEncoder([]byte(doc), field)
		got, err := numberTemplate([]byte(doc), field)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: walked %v, encoder %v", doc, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q without %s:\nwalked  %s | %s | %s\nencoder %s | %s | %s", doc, field, got.head, got.tail, got.rest, want.head, want.tail, want.rest)
		}
	})
}

// numberTemplateByEncoder is numberTemplate as it was written before it
// walked the document: decoded into a map and encoded again.
func numberTemplateByEncoder(document []byte, field string) (numbered, error) {
	if len(document) > MaxDocumentBytes {
		return numbered{}, errors.New("too long")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(document, &top); err != nil || top == nil {
		return numbered{}, errors.New("not an object")
	}
	delete(top, field)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return numbered{}, err
	}
	rest := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	head := []byte(`{"` + field + `":`)
	tail := []byte("}")
	if len(rest) > 2 {
		tail = append([]byte(","), rest[1:]...)
	}
	return numbered{rest: rest, head: head, tail: tail}, nil
}

// TestANumberedPacketNamesEveryTableInItsCounty: a numbered create's
// packet sends no USE, on a pooled connection that may still have
// another county's schema selected, so a table it named without its
// county's schema would be another county's. Every table it writes or
// reads is named in full, whatever the put indexes.
func TestANumberedPacketNamesEveryTableInItsCounty(t *testing.T) {
	const schema = "`cc_t_wengyuan`"
	tables := regexp.MustCompile(`(?i)\b(?:INTO|FROM|JOIN|UPDATE)\s+([^\s(]+)`)
	s := &numbers{records: &records{guard: guard{plugin: "docket"}}}
	fields := make([]fieldValue, fieldRowsPerInsert+1)
	for i := range fields {
		fields[i] = fieldValue{name: "unit", value: strconv.Itoa(i)}
	}
	var number int64
	statements := s.numberedStatements(schema, "docno/12/2026", "number", true, numbered{head: []byte(`{"number":`), tail: []byte(`}`)},
		recordWrite{collection: "dockets", id: "d1", fields: fields}, &number)
	named := 0
	for _, st := range statements {
		query := strings.ReplaceAll(st.Query, "ON DUPLICATE KEY UPDATE", "")
		for _, m := range tables.FindAllStringSubmatch(query, -1) {
			named++
			if !strings.HasPrefix(m[1], schema+".") {
				t.Errorf("%q names table %s outside %s", st.Query, m[1], schema)
			}
		}
	}
	// The counter, the record, two inserts of index rows and the
	// number's.
	if named != 5 {
		t.Errorf("the packet names %d tables, want 5: %+v", named, statements)
	}
}

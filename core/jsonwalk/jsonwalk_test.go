package jsonwalk

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzWalkReadsWhatEncodingJSONReads walks valid JSON as the package's
// users do (members by SkipSpace, StringEnd, String and ValueEnd) and
// checks each part against what encoding/json's decoder reads there:
// the same names in the same order, the same values, the same strings.
func FuzzWalkReadsWhatEncodingJSONReads(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`,
		" \t\r\n{ \"k\" : \"v\" , \"k\" : [ 1 , -2.5e+3 , \"\\\"]\" ] } \n",
		`["\u00e9\u2028\ud83d\ude00","\\",""]`,
		`"a string"`, `-0.1E-2`, `null`, `{}`, `[]`, `[[[{"x":[{}]}]]]`,
		"{\"\xff\":\"\xfe\"}",
		`{"}":"{","]":["[\"]"]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		start := SkipSpace(data, 0)
		end := ValueEnd(data, start)
		if rest := SkipSpace(data, end); rest != len(data) {
			t.Fatalf("%q: the value ends at %d, and %q follows it", data, end, data[end:])
		}
		sameValue(t, data[start:end])
	})
}

// sameValue checks the walk of v, one valid JSON value, against the
// decoder's reading of it.
func sameValue(t *testing.T, v []byte) {
	t.Helper()
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatal(err)
		}
		if got := String(v); string(got) != s {
			t.Fatalf("String(%q) = %q, encoding/json reads %q", v, got, s)
		}
	case '{', '[':
		dec := json.NewDecoder(bytes.NewReader(v))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		closing := byte('}')
		if v[0] == '[' {
			closing = ']'
		}
		i := SkipSpace(v, 1)
		for v[i] != closing {
			if v[0] == '{' {
				nameEnd := StringEnd(v, i)
				name := String(v[i:nameEnd])
				tok, err := dec.Token()
				if err != nil || tok != string(name) {
					t.Fatalf("%q: the walk reads member %q, the decoder %v (%v)", v, name, tok, err)
				}
				i = SkipSpace(v, SkipSpace(v, nameEnd)+1)
			}
			valueEnd := ValueEnd(v, i)
			var want json.RawMessage
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v[i:valueEnd], want) {
				t.Fatalf("%q: the walk reads %q, the decoder %q", v, v[i:valueEnd], want)
			}
			sameValue(t, v[i:valueEnd])
			if i = SkipSpace(v, valueEnd); v[i] == ',' {
				i = SkipSpace(v, i+1)
			}
		}
		if dec.More() {
			t.Fatalf("%q: the walk ended before the decoder", v)
		}
	default:
		if !json.Valid(v) || bytes.ContainsAny(v, " \t\r\n,]}") {
			t.Fatalf("the walk reads the scalar %q", v)
		}
	}
}

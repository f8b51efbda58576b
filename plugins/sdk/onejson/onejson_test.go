package onejson_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// What Rest passes, encoding/json takes as one value, and the other way
// round: the two never disagree.
func FuzzRest(f *testing.F) {
	for _, seed := range []string{`{}`, "{}\v", "{}\f", "{}\u0085", "{}\u00a0", "{} \t\r\n", `{}}`, `[1] [2]`, `"x"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(new(json.RawMessage)); err != nil {
			return
		}
		passed := len(onejson.Rest(b, dec)) == 0
		if valid := json.Valid(b); passed != valid {
			t.Fatalf("%q: Rest passed it %v, json.Valid says %v", b, passed, valid)
		}
	})
}

func TestBlank(t *testing.T) {
	for in, want := range map[string]bool{"": true, " \t\r\n": true, "\v": false, "\u00a0": false, " x": false} {
		if got := onejson.Blank([]byte(in)); got != want {
			t.Errorf("Blank(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDuplicateKey(t *testing.T) {
	for in, want := range map[string]string{
		`{"role":"clerk","Role":"operator"}`:                  "Role",
		`{"role":"clerk","\u0072ole":"operator"}`:             "role",
		`{"a":{"b":1,"B":2}}`:                                 "B",
		`[{"x":1},{"y":[{"z":1,"Z":2}]}]`:                     "Z",
		`{"k":1,"` + "\u212a" + `":2}`:                        "\u212a",
		`{"s":1,"` + "\u017f" + `":2}`:                        "\u017f",
		`{"a":{"b":1},"b":2,"c":[{"a":1}],"d":{"a":{"a":1}}}`: "",
		`{"a":[],"b":{},"c":[[]],"d":[{}]}`:                   "",
		`[1,"a","a",{"a":1},{"a":2}]`:                         "",
		`"role"`:                                              "",
	} {
		got, found := onejson.DuplicateKey([]byte(in))
		if got != want || found != (want != "") {
			t.Errorf("DuplicateKey(%s) = %q, %v; want %q", in, got, found, want)
		}
	}
}

// Whatever valid JSON it reads, DuplicateKey names a member the body has
// more than once under encoding/json's folding, or finds none in a body
// that a map decode keeps member for member.
func FuzzDuplicateKey(f *testing.F) {
	for _, seed := range []string{`{"role":"clerk","Role":"operator"}`, `{"a":{"b":[{"c":1,"C":2}]}}`, `{"k":1,"K":2}`, `[{"a":1},{"a":1}]`, `{}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		name, found := onejson.DuplicateKey(b)
		if !found {
			if name != "" {
				t.Fatalf("%q: no duplicate, yet the name %q", b, name)
			}
			return
		}
		var folded int
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if s, ok := tok.(string); ok && strings.EqualFold(s, name) {
				folded++
			}
		}
		if folded < 2 {
			t.Fatalf("%q: %q named a duplicate, but the body has it %d times", b, name, folded)
		}
	})
}

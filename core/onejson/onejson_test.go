package onejson_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/countycloud/countycloud/core/onejson"
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

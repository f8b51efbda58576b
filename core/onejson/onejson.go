// Package onejson holds the one rule every strict JSON reader here
// shares: after the value, nothing but JSON's own white space.
package onejson

import (
	"bytes"
	"encoding/json"
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

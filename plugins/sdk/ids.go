package sdk

import (
	"crypto/rand"
	"time"
)

// idAlphabet is Crockford's base32 in lowercase: its characters sort in
// the order of their values, so ids compare as the numbers they encode.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newestFirstIDLen is 10 characters of time and 16 of randomness.
const newestFirstIDLen = 26

// NewestFirstID makes the id of a record created at t, for a module
// whose lists want the newest first: the host lists records in
// ascending order of id, so the first 50 bits count the milliseconds
// left until 2^50 ms after 1970 (about the year 37,600) rather than
// those since 1970; the other 80 bits are random, so that ids made in
// the same millisecond by any number of processes do not meet.
func NewestFirstID(t time.Time) string {
	const timeBits = 50
	left := uint64(1)<<timeBits - 1 - uint64(t.UnixMilli())
	var random [10]byte
	// crypto/rand.Read never fails: Go 1.24 made it crash the program
	// rather than return an error.
	_, _ = rand.Read(random[:])
	out := make([]byte, newestFirstIDLen)
	for i := 9; i >= 0; i-- {
		out[i] = idAlphabet[left&31]
		left >>= 5
	}
	// 80 random bits are 16 groups of 5.
	var acc uint64
	bits := 0
	n := 10
	for _, b := range random {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[n] = idAlphabet[(acc>>bits)&31]
			n++
		}
	}
	return string(out)
}

// ValidNewestFirstID reports whether s could be an id NewestFirstID
// made: a record id from a request's path is checked with it before the
// host is asked for the record.
func ValidNewestFirstID(s string) bool {
	if len(s) != newestFirstIDLen {
		return false
	}
	for i := range len(s) {
		if !isIDChar(s[i]) {
			return false
		}
	}
	return true
}

func isIDChar(c byte) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	case c >= 'a' && c <= 'z':
		return c != 'i' && c != 'l' && c != 'o' && c != 'u'
	}
	return false
}

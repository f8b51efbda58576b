package oa

import (
	"crypto/rand"
	"time"
)

// idAlphabet is Crockford's base32 in lowercase: its characters sort in
// the order of their values, so ids compare as the numbers they encode.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// idLen is 10 characters of time and 16 of randomness.
const idLen = 26

// newID makes the id of a document, a notice or a mail created at t.
// The host lists records in ascending order of id and the lists want
// the newest first, so the first 50 bits count the milliseconds left until 2^50 ms
// after 1970 (about the year 37,600) rather than those since 1970; the
// other 80 bits are random, so that ids made in the same millisecond by
// any number of processes do not meet.
func newID(t time.Time) string {
	const timeBits = 50
	left := uint64(1)<<timeBits - 1 - uint64(t.UnixMilli())
	var random [10]byte
	// crypto/rand.Read never fails: Go 1.24 made it crash the program
	// rather than return an error.
	_, _ = rand.Read(random[:])
	out := make([]byte, idLen)
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

// validID reports whether s could be an id newID made.
func validID(s string) bool {
	if len(s) != idLen {
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

package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/countycloud/countycloud/core/errs"
)

// Argon2Params are argon2id's cost parameters. They are stored in every
// hash (the PHC string format), so raising them later leaves existing
// passwords verifiable.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's recommended minimum for argon2id: 19 MiB, two
// passes, one lane.
func DefaultArgon2() Argon2Params { return Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
)

// HashPassword returns password's argon2id hash in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (p Argon2Params) HashPassword(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ErrMalformedHash is returned for a stored hash that is not an argon2id
// PHC string this package can verify.
var ErrMalformedHash = errors.New("malformed argon2id hash")

// limits on what a stored hash may ask of the verifier, so that a
// tampered row cannot make a login allocate gigabytes.
const (
	maxMemoryKiB = 256 * 1024
	maxTime      = 16
)

// parsedHash is a PHC string taken apart.
type parsedHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

func parseHash(encoded string) (parsedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return parsedHash{}, ErrMalformedHash
	}
	var h parsedHash
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return parsedHash{}, ErrMalformedHash
		}
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return parsedHash{}, ErrMalformedHash
		}
		switch name {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return parsedHash{}, ErrMalformedHash
		}
	}
	if m < 8 || m > maxMemoryKiB || t < 1 || t > maxTime || p < 1 || p > 255 || m < 8*p {
		return parsedHash{}, ErrMalformedHash
	}
	h.params = Argon2Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(p)}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return parsedHash{}, ErrMalformedHash
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return parsedHash{}, ErrMalformedHash
	}
	return h, nil
}

// VerifyPassword reports whether password matches encoded, in constant
// time with respect to the password.
func VerifyPassword(encoded, password string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// CodeWeakPassword is the code of a password the policy refuses.
const CodeWeakPassword = "weak_password"

// Password policy: long enough to resist guessing offline, three kinds of
// character (as Chinese government systems commonly require, 等保), and
// not the login.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

// CheckPassword applies the password policy; login is the account's.
func CheckPassword(password, login string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return errs.Invalid(CodeWeakPassword, "a password has %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	var lower, upper, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsControl(r):
			return errs.Invalid(CodeWeakPassword, "a password cannot contain control characters")
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	kinds := 0
	for _, k := range []bool{lower, upper, digit, other} {
		if k {
			kinds++
		}
	}
	if kinds < 3 {
		return errs.Invalid(CodeWeakPassword, "a password mixes at least three of: lower-case letters, upper-case letters, digits, other characters")
	}
	if login != "" && strings.Contains(strings.ToLower(password), strings.ToLower(login)) {
		return errs.Invalid(CodeWeakPassword, "a password cannot contain the login")
	}
	return nil
}

// Alphabets of generated passwords, without the characters that are
// confused on a printed sheet (0/O, 1/l/I).
const (
	genLower  = "abcdefghijkmnpqrstuvwxyz"
	genUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genDigits = "23456789"
	genAll    = genLower + genUpper + genDigits
	genLen    = 12
)

// GeneratePassword returns a random password that passes the policy, for
// the initial credentials handed out on paper: 12 characters from 56, about
// 70 bits.
func GeneratePassword() string {
	pick := func(alphabet string) byte {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		return alphabet[i.Int64()]
	}
	b := make([]byte, genLen)
	b[0], b[1], b[2] = pick(genLower), pick(genUpper), pick(genDigits)
	for i := 3; i < genLen; i++ {
		b[i] = pick(genAll)
	}
	// Shuffle, so that the guaranteed classes are not always in front.
	for i := genLen - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return string(b)
}

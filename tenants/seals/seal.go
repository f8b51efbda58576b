package seals

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// The structure of a seal this version makes and verifies.
const (
	Version   = 1
	Algorithm = "SM2-SM3"
)

// Limits of a seal, which anyone may send to be verified.
const (
	MaxSealBytes = 64 << 10
	MaxFiles     = 100
	maxName      = 255
	// An SM2 signature in ASN.1 is at most 72 bytes.
	maxSignature = 80
)

// Manifest is what a seal signs: the county and unit, the seal (key)
// used, when, and every file of the document by name and SM3 digest.
type Manifest struct {
	Version   int       `json:"version"`
	Algorithm string    `json:"algorithm"`
	County    string    `json:"county"`
	UnitID    int64     `json:"unit_id"`
	UnitName  string    `json:"unit_name"`
	SealID    int64     `json:"seal_id"`
	SealedAt  time.Time `json:"sealed_at"`
	Files     []File    `json:"files"`
}

// File is one file of a sealed document: its name and the hex SM3 digest
// of its bytes.
type File struct {
	Name string `json:"name"`
	SM3  string `json:"sm3"`
}

// Seal is a manifest and the unit's SM2 signature of it, which a module
// keeps with the document it sealed.
type Seal struct {
	Manifest
	// Signature is the SM2 signature (ASN.1, default user id) of the
	// manifest's canonical bytes.
	Signature []byte `json:"signature"`
}

// canonical is the bytes a seal's signature covers: the manifest's JSON,
// fields in their declared order, the time in UTC.
func (m Manifest) canonical() []byte {
	m.SealedAt = m.SealedAt.UTC()
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("seals: marshal a manifest: %v", err)) // strings, numbers and a time always marshal
	}
	return b
}

// Digest is the hex SM3 digest of r's bytes.
func Digest(r io.Reader) (string, error) {
	h := sm3.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DigestBytes is the hex SM3 digest of b.
func DigestBytes(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

var digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseSeal reads a seal as anyone may send it to be verified: one JSON
// object of the known fields, of this version and algorithm, its files
// named once each with an SM3 digest, and a signature.
func ParseSeal(b []byte) (Seal, error) {
	if len(b) > MaxSealBytes {
		return Seal{}, errs.Invalid(CodeInvalidSeal, "the seal is %d bytes, more than %d", len(b), MaxSealBytes)
	}
	var s Seal
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seal{}, errs.Invalid(CodeInvalidSeal, "the seal is not a seal's JSON: %v", err)
	}
	if len(onejson.Rest(b, dec)) != 0 {
		return Seal{}, errs.Invalid(CodeInvalidSeal, "the seal has text after its JSON object")
	}
	if name, ok := onejson.DuplicateKey(b); ok {
		return Seal{}, errs.Invalid(CodeInvalidSeal, "the seal names %q twice in one object", name)
	}
	if err := s.check(); err != nil {
		return Seal{}, err
	}
	return s, nil
}

// check says what is wrong with a seal's fields.
func (s Seal) check() error {
	bad := func(format string, args ...any) error { return errs.Invalid(CodeInvalidSeal, format, args...) }
	switch {
	case s.Version != Version:
		return bad("seal version %d is not %d, the one this platform reads", s.Version, Version)
	case s.Algorithm != Algorithm:
		return bad("algorithm %q is not %s", s.Algorithm, Algorithm)
	case s.County == "" || len(s.County) > 64 || !utf8.ValidString(s.County):
		return bad("the seal names no county")
	case s.UnitID <= 0 || s.SealID <= 0:
		return bad("the seal names no unit or no seal id")
	case len(s.UnitName) > 4*64 || !utf8.ValidString(s.UnitName):
		return bad("the unit's name is not a unit's name")
	case s.SealedAt.IsZero():
		return bad("the seal says no time of sealing")
	case len(s.Signature) == 0 || len(s.Signature) > maxSignature:
		return bad("the seal's signature is missing or longer than an SM2 signature")
	}
	if err := checkFiles(s.Files); err != nil {
		return err
	}
	return nil
}

// checkFiles says what is wrong with a document's list of files.
func checkFiles(files []File) error {
	if len(files) == 0 || len(files) > MaxFiles {
		return errs.Invalid(CodeInvalidSeal, "a document has 1 to %d files, not %d", MaxFiles, len(files))
	}
	seen := map[string]bool{}
	for i, f := range files {
		switch {
		case f.Name == "" || len(f.Name) > maxName || !utf8.ValidString(f.Name):
			return errs.Invalid(CodeInvalidSeal, "file %d has no name, or one longer than %d bytes", i+1, maxName)
		case seen[f.Name]:
			return errs.Invalid(CodeInvalidSeal, "file %q is named twice", f.Name)
		case !digestPattern.MatchString(f.SM3):
			return errs.Invalid(CodeInvalidSeal, "file %q: the SM3 digest is not 64 lowercase hex digits", f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}

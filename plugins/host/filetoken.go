package host

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Operations a file URL grants.
const (
	opUpload   = "put"
	opDownload = "get"
)

// fileGrant is what a signed file URL grants: one operation on one file
// of one plugin in one county, until Expires (Unix seconds).
type fileGrant struct {
	County  string `json:"c"`
	Plugin  string `json:"p"`
	File    string `json:"f"`
	Op      string `json:"o"`
	Expires int64  `json:"e"`
}

const (
	fileTokenPrefix = "cf1."
	// maxFileToken is far above a real token (about 200 bytes); anything
	// longer is refused before it is decoded.
	maxFileToken = 1024
)

var errFileToken = errors.New("not a file URL this platform signed")

// fileKey derives the key that signs file URLs from the one the host is
// given, which may serve other purposes too: a signature made for one of
// them is then never valid for another.
func fileKey(secret []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("countycloud plugin file URLs v1"))
	return h.Sum(nil)
}

// signFileToken returns the token of g under key (a fileKey).
func signFileToken(key []byte, g fileGrant) string {
	// Marshalling a struct of strings and a number cannot fail.
	payload, _ := json.Marshal(g)
	body := base64.RawURLEncoding.EncodeToString(payload)
	return fileTokenPrefix + body + "." + base64.RawURLEncoding.EncodeToString(macOf(key, body))
}

// parseFileToken returns what token grants if key signed it, whatever its
// expiry, which the caller judges by its clock. Nothing of the token is
// decoded before its signature is checked.
func parseFileToken(key []byte, token string) (fileGrant, error) {
	// Only the characters a token is made of: Go's base64 decoding skips
	// line breaks, which would give one token many forms.
	if len(token) > maxFileToken || strings.IndexFunc(token, notTokenChar) >= 0 {
		return fileGrant{}, errFileToken
	}
	rest, ok := strings.CutPrefix(token, fileTokenPrefix)
	if !ok {
		return fileGrant{}, errFileToken
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return fileGrant{}, errFileToken
	}
	// Strictly: a signature has one encoding, so a token has one form.
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, macOf(key, body)) {
		return fileGrant{}, errFileToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return fileGrant{}, errFileToken
	}
	var g fileGrant
	if err := json.Unmarshal(payload, &g); err != nil {
		return fileGrant{}, errFileToken
	}
	// The host signed it, but a grant it could not have made (a key
	// reused by an older host, say) is refused rather than trusted.
	if _, err := NewBlobKey(g.County, g.Plugin, g.File); err != nil || (g.Op != opUpload && g.Op != opDownload) {
		return fileGrant{}, errFileToken
	}
	return g, nil
}

func macOf(key []byte, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(body))
	return h.Sum(nil)
}

// notTokenChar says whether r is outside base64url's alphabet and the
// dot that separates a token's parts.
func notTokenChar(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

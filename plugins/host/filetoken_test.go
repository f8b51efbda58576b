package host

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func FuzzFileToken(f *testing.F) {
	key := fileKey(bytes.Repeat([]byte{7}, 32))
	good := signFileToken(key, fileGrant{County: "gd.shaoguan.wengyuan", Plugin: "vod", File: strings.Repeat("ab", 16), Op: opDownload, Expires: 1767225600})
	body, sig, _ := strings.Cut(strings.TrimPrefix(good, fileTokenPrefix), ".")
	for _, seed := range []string{
		good,
		good[:len(good)-1],
		good + "A",
		fileTokenPrefix + body,
		fileTokenPrefix + "." + sig,
		"cc1." + body + "." + sig,
		fileTokenPrefix + "e30." + sig,
		"",
		strings.Repeat("A", maxFileToken+1),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		g, err := parseFileToken(key, token)
		if err != nil {
			if !errors.Is(err, errFileToken) {
				t.Fatalf("parse %q = %v, not errFileToken", token, err)
			}
			return
		}
		// Only what the key signed parses, in the one form it signs, and
		// it names a file inside the store.
		if again := signFileToken(key, g); again != token {
			t.Fatalf("%q parsed as %+v, which signs as %q", token, g, again)
		}
		if _, err := NewBlobKey(g.County, g.Plugin, g.File); err != nil || (g.Op != opUpload && g.Op != opDownload) {
			t.Fatalf("%q parsed as %+v: %v", token, g, err)
		}
	})
}

func TestAFileTokenGrantsWhatWasSignedOnly(t *testing.T) {
	t.Parallel()
	key := fileKey(bytes.Repeat([]byte{7}, 32))
	g := fileGrant{County: "gd.shaoguan.wengyuan", Plugin: "vod", File: strings.Repeat("ab", 16), Op: opUpload, Expires: 1767225600}
	if got, err := parseFileToken(key, signFileToken(key, g)); err != nil || got != g {
		t.Fatalf("round trip = %+v %v", got, err)
	}
	// A grant the host would never sign is refused even when signed.
	for _, bad := range []fileGrant{
		{County: "..", Plugin: "vod", File: g.File, Op: opUpload},
		{County: g.County, Plugin: "vod/../x", File: g.File, Op: opUpload},
		{County: g.County, Plugin: "vod", File: "../../etc/passwd", Op: opUpload},
		{County: g.County, Plugin: "vod", File: g.File, Op: "delete"},
	} {
		if _, err := parseFileToken(key, signFileToken(key, bad)); !errors.Is(err, errFileToken) {
			t.Errorf("%+v = %v, want errFileToken", bad, err)
		}
	}
	if _, err := parseFileToken(fileKey(bytes.Repeat([]byte{8}, 32)), signFileToken(key, g)); !errors.Is(err, errFileToken) {
		t.Errorf("another key's token = %v, want errFileToken", err)
	}
}

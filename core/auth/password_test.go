package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

// cheap keeps the tests fast; the parameters travel in the hash.
var cheap = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestPasswordsHashAndVerify(t *testing.T) {
	h := cheap.HashPassword("Gd-wengyuan-2026")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := VerifyPassword(h, "Gd-wengyuan-2026"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "Gd-wengyuan-2027"); ok {
		t.Error("wrong password accepted")
	}
	if h2 := cheap.HashPassword("Gd-wengyuan-2026"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("%q verified", bad)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short1A":             false,
		"alllowercaseletters": false,
		"lowerUPPER1234":      true,
		"口令中文abc123":          true,
		"zhangsan-Pass1":      false, // holds the login
		"tab\tInside123":      false,
	} {
		err := CheckPassword(pw, "zhangsan")
		if (err == nil) != ok {
			t.Errorf("%q: %v", pw, err)
		}
		if err != nil && errs.CodeOf(err) != CodeWeakPassword {
			t.Errorf("%q: code %s", pw, errs.CodeOf(err))
		}
	}
	for range 100 {
		if pw := GeneratePassword(); CheckPassword(pw, "") != nil {
			t.Fatalf("generated %q fails the policy", pw)
		}
	}
}

func TestBackoffDoublesToALockout(t *testing.T) {
	want := map[int]time.Duration{1: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 12: 512 * time.Second, 13: LockoutDuration, 100: LockoutDuration}
	for n, d := range want {
		if got := Backoff(n); got != d {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, d)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add(cheap.HashPassword("x"))
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("$argon2id$v=19$m=,t=1$a$b")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		if h.params.MemoryKiB > maxMemoryKiB || h.params.Time > maxTime || len(h.key) > 64 {
			t.Fatalf("%q parsed to costs past the limits: %+v", s, h.params)
		}
	})
}

package seals_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/countycloud/countycloud/tenants/seals"
)

// FuzzParseSeal: the parser never panics, and what it accepts marshals
// back to a seal it parses to the same value (the canonical form the
// signature covers is stable).
func FuzzParseSeal(f *testing.F) {
	seal := seals.Seal{Manifest: seals.Manifest{Version: seals.Version, Algorithm: seals.Algorithm, County: "gd.shaoguan.wengyuan", UnitID: 1,
		UnitName: "县政府办", SealID: 3, SealedAt: time.Date(2026, 12, 6, 12, 0, 0, 123000, time.UTC),
		Files: []seals.File{{Name: "正文.pdf", SM3: seals.DigestBytes([]byte("正文"))}}}, Signature: []byte("0E\x02 signature")}
	b, _ := json.Marshal(seal)
	f.Add(b)
	f.Add(append(b, '}'))
	f.Add([]byte(`{"version":1,"algorithm":"SM2-SM3","county":"x","unit_id":1,"unit_name":"","seal_id":1,"sealed_at":"2026-01-01T00:00:00+08:00","files":[{"name":"a","sm3":"00"}],"signature":"AA=="}`))
	f.Add([]byte(`{"version":1,"extra":true}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := seals.ParseSeal(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted %q, which is not one JSON value", b)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("an accepted seal does not marshal: %v", err)
		}
		s2, err := seals.ParseSeal(again)
		if err != nil {
			t.Fatalf("an accepted seal, marshalled, is refused: %v\n%s", err, again)
		}
		if !s.SealedAt.Equal(s2.SealedAt) {
			t.Fatalf("the time moved: %s, %s", s.SealedAt, s2.SealedAt)
		}
		s.SealedAt, s2.SealedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("an accepted seal changed through its JSON:\n%+v\n%+v", s, s2)
		}
	})
}

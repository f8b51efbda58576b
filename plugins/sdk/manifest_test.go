package sdk

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(`{"id":"vod","name":"视频点播","vendor":"CountyCloud","version":"1.0.0","protocol":1}`))
	if err != nil || m.ID != "vod" || m.Name != "视频点播" {
		t.Fatalf("ParseManifest = %+v, %v", m, err)
	}
	bad := map[string]string{
		`{"id":"VOD","name":"x","vendor":"v","version":"1.0.0","protocol":1}`:                                                                                                      "id",
		`{"id":"vod","name":"","vendor":"v","version":"1.0.0","protocol":1}`:                                                                                                       "name",
		`{"id":"vod","name":"x","vendor":"v","version":"v1.0.0","protocol":1}`:                                                                                                     "version",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0","protocol":1}`:                                                                                                        "version",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":2}`:                                                                                                      "protocol",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":1,"x":1}`:                                                                                                "unknown field",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":1} {}`:                                                                                                   "more than one",
		`{"id":"v","name":"x","vendor":"","version":"1.0.0","protocol":1}`:                                                                                                         "vendor",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":1,"workflows":{"Review":{}}}`:                                                                            "workflow \"Review\"",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":1,"workflows":{"review":[]}}`:                                                                            "workflow review: the definition is not a JSON object",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":1,"workflows":{"review":null}}`:                                                                          "workflow review: the definition is not a JSON object",
		`{"id":"vod","name":"x","vendor":"v","version":"1.0.0","protocol":1,"collections":{"videos":{"indexed":["unit","unit"]}}}`:                                                 "indexed field unit is listed twice",
		`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"vod.sent","label":{"zh-CN":"发文数","en":"Sent"},"counts":{"zh-CN":"一份","en":"one"}}]}`: "measure \"vod.sent\": an id is the module's id",
		`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"oa","label":{"zh-CN":"发文数","en":"Sent"},"counts":{"zh-CN":"一份","en":"one"}}]}`:       "measure \"oa\"",
		`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"oa.Sent","label":{"zh-CN":"发文数","en":"Sent"},"counts":{"zh-CN":"一份","en":"one"}}]}`:  "measure \"oa.Sent\"",
		`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"oab.sent","label":{"zh-CN":"发文数","en":"Sent"},"counts":{"zh-CN":"一份","en":"one"}}]}`: "measure \"oab.sent\"",
		`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"oa.sent","label":{"zh-CN":"发文数","en":""},"counts":{"zh-CN":"一份","en":"one"}}]}`:      "in zh-CN and en",
		`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"oa.sent","label":{"zh-CN":"发文数","en":"Sent"},"counts":{"zh-CN":"一份","en":"one"}},{"id":"oa.sent","label":{"zh-CN":"发文数","en":"Sent"},"counts":{"zh-CN":"一份","en":"one"}}]}`: "declared twice",
	}
	if m, err := ParseManifest([]byte(`{"id":"oa","name":"x","vendor":"v","version":"1.0.0","protocol":1,"measures":[{"id":"oa.documents.sent","label":{"zh-CN":"发文数","en":"Documents sent"},"counts":{"zh-CN":"一份发出的公文","en":"one document sent"}}]}`)); err != nil || len(m.Measures) != 1 || m.Measures[0].Label.ZH != "发文数" {
		t.Errorf("a declared measure: %+v, %v", m.Measures, err)
	}
	for in, want := range bad {
		if _, err := ParseManifest([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseManifest(%s) = %v, want an error about %s", in, err, want)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"id":"vod","name":"视频点播","vendor":"CountyCloud","version":"1.0.0","protocol":1}`))
	f.Add([]byte(`{"id":"x"}`))
	f.Add([]byte(`{"id":"vod","name":"视频点播","vendor":"CountyCloud","version":"1.0.0","protocol":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed an invalid manifest: %v", err)
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not one JSON value", data)
		}
	})
}

func TestHandshakeSpeaksTheProtocol(t *testing.T) {
	if h := Handshake(); h.ProtocolVersion != ProtocolVersion || h.MagicCookieKey == "" {
		t.Errorf("handshake = %+v", h)
	}
}

func TestPublicRoutesAreDeclaredPlainly(t *testing.T) {
	const head = `{"id":"box","name":"x","vendor":"v","version":"1.0.0","protocol":1,"public":`
	good := head + `[{"method":"POST","path":"/suggestions"},{"method":"GET","path":"/receipts/{number}/v1.0_~x-y"}]}`
	if m, err := ParseManifest([]byte(good)); err != nil || len(m.Public) != 2 || m.Public[1].Path != "/receipts/{number}/v1.0_~x-y" {
		t.Fatalf("ParseManifest = %+v, %v", m, err)
	}
	for in, want := range map[string]string{
		`[{"method":"HEAD","path":"/a"}]`:       `method "HEAD"`,
		`[{"method":"get","path":"/a"}]`:        `method "get"`,
		`[{"method":"GET","path":"a"}]`:         "starts with /",
		`[{"method":"GET","path":"/"}]`:         "starts with /",
		`[{"method":"GET","path":"/a/"}]`:       `segment ""`,
		`[{"method":"GET","path":"/a//b"}]`:     `segment ""`,
		`[{"method":"GET","path":"/a/../b"}]`:   `segment ".."`,
		`[{"method":"GET","path":"/a/{B}"}]`:    `segment "{B}"`,
		`[{"method":"GET","path":"/a/{b}c"}]`:   `segment "{b}c"`,
		`[{"method":"GET","path":"/a/*"}]`:      `segment "*"`,
		`[{"method":"GET","path":"/a/%2F"}]`:    `segment "%2F"`,
		`[{"method":"GET","path":"/a?x=1"}]`:    `segment "a?x=1"`,
		`[{"method":"GET","path":"/办事"}]`:       `segment "办事"`,
		`[{"method":"GET","path":"/a","x":1}]`:  "unknown field",
		`{"method":"GET","path":"/a"}`:          "cannot unmarshal",
		`[{"method":"POST","path":"/a/{id}"}]x`: "invalid character",
	} {
		if _, err := ParseManifest([]byte(head + in + `}`)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("public %s: %v, want an error about %s", in, err, want)
		}
	}
}

// A workflow startable from public routes is one of the manifest's own,
// named once; a manifest without any keeps every start an account's.
func TestPublicStartNamesTheManifestsOwnWorkflows(t *testing.T) {
	const head = `{"id":"box","name":"x","vendor":"v","version":"1.0.0","protocol":1,"workflows":{"message":{"code":"m"},"review":{"code":"r"}}`
	if m, err := ParseManifest([]byte(head + `}`)); err != nil || m.PublicStart != nil {
		t.Fatalf("without public_start: %+v, %v", m.PublicStart, err)
	}
	if m, err := ParseManifest([]byte(head + `,"public_start":["message"]}`)); err != nil || len(m.PublicStart) != 1 || m.PublicStart[0] != "message" {
		t.Fatalf("public_start [message]: %+v, %v", m.PublicStart, err)
	}
	for in, want := range map[string]string{
		`["other"]`:             `public_start "other": the manifest has no workflow`,
		`["message","message"]`: "public_start message is listed twice",
		`"message"`:             "cannot unmarshal",
	} {
		if _, err := ParseManifest([]byte(head + `,"public_start":` + in + `}`)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("public_start %s: %v, want an error about %s", in, err, want)
		}
	}
}

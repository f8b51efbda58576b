package disclosure

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkText holds a text the parsers passed to their promises: trimmed,
// valid, within max characters, nothing hidden, and showing something if
// required.
func checkText(t *testing.T, field, s string, max int, required, multiline bool) {
	t.Helper()
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || strings.TrimSpace(s) != s || strings.Contains(s, "\r") ||
		strings.ContainsFunc(s, func(r rune) bool { return badRune(r, multiline) }) {
		t.Fatalf("%s %q", field, s)
	}
	if required && strings.IndexFunc(s, visible) < 0 {
		t.Fatalf("%s %q shows nothing", field, s)
	}
}

// FuzzParseProfile holds parseProfile to its promises on any body: an
// error, or a complete form within bounds that parses again to itself.
func FuzzParseProfile(f *testing.F) {
	good, _ := json.Marshal(form(0))
	f.Add(good)
	f.Add([]byte(`{"functions":"职能","structure":"机构","procedures":"程序","leaders":[{"name":"李明","title":"主任","duties":"全面"}],` +
		`"contacts":{"address":"建设路1号","phone":"0751-2862001转8001"},"complaints":{"email":"a@b.cn"}}`))
	f.Add([]byte(`{"functions":"\u3164","leaders":[],"contacts":{"phone":"+86 (751) 286"},"complaints":{"phone":"x"}}`))
	f.Add([]byte(`{"functions":"a\u202eb","structure":"\r\n","version":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseProfile(body)
		if err != nil {
			return
		}
		fm := in.profileForm
		checkText(t, "functions", fm.Functions, maxLongText, true, true)
		checkText(t, "structure", fm.Structure, maxLongText, true, true)
		checkText(t, "procedures", fm.Procedures, maxLongText, true, true)
		if len(fm.Leaders) == 0 || len(fm.Leaders) > maxLeaders {
			t.Fatalf("%d leaders", len(fm.Leaders))
		}
		for _, l := range fm.Leaders {
			checkText(t, "name", l.Name, 32, true, false)
			checkText(t, "title", l.Title, 64, true, false)
			checkText(t, "duties", l.Duties, 1000, true, true)
		}
		if !phonePattern.MatchString(fm.Contacts.Phone) || fm.Complaints == (complaints{}) || in.Version < 0 {
			t.Fatalf("contacts %+v, complaints %+v, version %d", fm.Contacts, fm.Complaints, in.Version)
		}
		again, _ := json.Marshal(in)
		if in2, err := parseProfile(again); err != nil || !equalJSON(t, in2, in) {
			t.Fatalf("parsed %+v does not parse again to itself: %+v %v", in, in2, err)
		}
	})
}

// FuzzParseDocument does the same for documents: a valid kind, the
// fields the kind needs, real days in order.
func FuzzParseDocument(f *testing.F) {
	for _, d := range []map[string]any{normative(), procurement()} {
		b, _ := json.Marshal(d)
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"normative","title":"x","number":"1","body":"y","issued_on":"2024-02-29","effective_from":"2024-02-29"}`))
	f.Add([]byte(`{"kind":"procurement","title":"x","body":"y","issued_on":"2023-02-29","expires_on":"2023-03-01"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseDocument(body)
		if err != nil {
			return
		}
		checkText(t, "title", in.Title, maxTitle, true, false)
		checkText(t, "body", in.Body, maxDocBody, true, true)
		checkText(t, "number", in.Number, maxNumber, in.Kind == kindNormative, false)
		if in.Kind != kindNormative && in.Kind != kindProcurement || !validDay(in.IssuedOn) || !validDay(in.EffectiveFrom) ||
			in.ExpiresOn != "" && (!validDay(in.ExpiresOn) || in.ExpiresOn < in.EffectiveFrom) || in.Kind == kindProcurement && in.ExpiresOn == "" {
			t.Fatalf("document %+v", in)
		}
		if _, err := time.Parse(time.DateOnly, in.IssuedOn); err != nil {
			t.Fatalf("issued_on %q passed but is no day: %v", in.IssuedOn, err)
		}
	})
}

// FuzzParseReport does the same for reported information.
func FuzzParseReport(f *testing.F) {
	b, _ := json.Marshal(work("推进会"))
	f.Add(b)
	f.Add([]byte(`{"title":"\u2800","body":"x\r\ny","version":2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseReport(body)
		if err != nil {
			return
		}
		checkText(t, "title", in.Title, maxTitle, true, false)
		checkText(t, "body", in.Body, maxReportBody, true, true)
		if in.Version < 0 {
			t.Fatalf("version %d", in.Version)
		}
	})
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

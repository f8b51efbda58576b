package oa

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func FuzzMatch(f *testing.F) {
	id := sdk.NewestFirstID(time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC))
	for _, seed := range []string{"/documents", "/documents/" + id, "/documents/" + id + "/act", "/documents/" + id + "/files/x", "/received/" + id + ".3/act",
		"/templates/20", "/tasks", "/", "", "//", "/documents//act", "/documents/" + id + "/"} {
		for _, method := range []string{"GET", "POST", "PATCH", "DELETE", "PUT"} {
			f.Add(method, seed)
		}
	}
	table := routes()
	f.Fuzz(func(t *testing.T, method, path string) {
		r, p, err := match(table, method, path)
		if err != nil {
			if err.status != http.StatusNotFound && err.status != http.StatusMethodNotAllowed || err.code == "" || err.message == "" {
				t.Fatalf("%s %q: %+v", method, path, err)
			}
			return
		}
		if r.method != method || r.handle == nil || !strings.HasPrefix(path, "/") {
			t.Fatalf("%s %q: %+v", method, path, r)
		}
		for name, v := range p {
			if v == "" || strings.Contains(v, "/") || !strings.Contains(r.pattern, "{"+name+"}") {
				t.Fatalf("%s %q: %s = %q in %s", method, path, name, v, r.pattern)
			}
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	id := sdk.NewestFirstID(time.Unix(0, 0))
	for _, seed := range []string{"", "year=2026&number=12&urgency=特急&status=done&title=防汛&limit=10", "after=" + id, "unit_id=3", "limit=-1", "a=%zz",
		"number=+3", "status=DONE", "after=" + id + ".3"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, raw string, admin bool) {
		who := gbClerk
		if admin {
			who = countyAdmin()
		}
		c := &call{who: accessOf(who)}
		q, err := c.parseListQuery(raw, sdk.ValidNewestFirstID)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.status != http.StatusBadRequest && e.status != http.StatusForbidden {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if q.limit < 1 || q.limit > 100 || q.after != "" && !sdk.ValidNewestFirstID(q.after) || utf8.RuneCountInString(q.title) > maxTitleRunes {
			t.Fatalf("%q: %+v", raw, q)
		}
		if !admin && q.where["unit_id"] != strconv.FormatInt(gbClerk.UnitID, 10) {
			t.Fatalf("%q: a clerk lists %v", raw, q.where)
		}
		if u := q.where["urgency"]; u != "" && !slices.Contains(urgencies, u) {
			t.Fatalf("%q: urgency %q", raw, u)
		}
		for _, k := range []string{"unit_id", "year", "sequence"} {
			if v, ok := q.where[k]; ok {
				if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
					t.Fatalf("%q: %s %q", raw, k, v)
				}
			}
		}
	})
}

func FuzzCheckDocument(f *testing.F) {
	for _, seed := range []string{
		`{"title":"关于做好防汛工作的通知","urgency":"特急","main_units":[30],"copy_units":[40],"body":"各单位：","paper":true}`,
		`{"title":"x","classification":"机密","main_units":[1]}`, `{"title":"x","main_units":[1,1]}`, `{"title":"","main_units":[]}`,
		`{"title":"x","main_units":[-3],"colour":1}`, `[]`, `{"title":"x","main_units":[1]} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in documentInput
		if err := decodeBody(body, &in); err != nil {
			return
		}
		if err := checkDocument(&in); err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.code != codeInvalidDocument && e.code != codeClassified {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		all := in.recipients()
		if in.Classification != unclassified || !slices.Contains(urgencies, in.Urgency) || len(in.MainUnits) == 0 || in.Title == "" ||
			utf8.RuneCountInString(in.Title) > maxTitleRunes || len(all) > maxRecipientUnits {
			t.Fatalf("%q: accepted %+v", body, in)
		}
		for i, u := range all {
			if u <= 0 || slices.Contains(all[:i], u) {
				t.Fatalf("%q: recipients %v", body, all)
			}
		}
	})
}

func FuzzCheckTemplate(f *testing.F) {
	for _, seed := range []string{`{"header":"翁源县人民政府文件","prefix":"翁府","signature":"翁源县人民政府"}`,
		`{"header":"x","prefix":"y","signature":"z","number_format":"{prefix}〔{year}〕{seq}号"}`, `{"number_format":"{year}{seq}{x}"}`} {
		f.Add([]byte(seed), 2026, int64(12))
	}
	f.Fuzz(func(t *testing.T, body []byte, year int, seq int64) {
		var in templateInput
		if decodeBody(body, &in) != nil || checkTemplate(&in) != nil {
			return
		}
		tpl := template{Prefix: in.Prefix, NumberFormat: in.NumberFormat}
		if n := tpl.formatNumber(year, seq); !strings.Contains(n, strconv.Itoa(year)) || !strings.Contains(n, strconv.FormatInt(seq, 10)) {
			t.Fatalf("%q: %q for %d, %d", body, n, year, seq)
		}
	})
}

func FuzzCheckFile(f *testing.F) {
	for _, seed := range []string{`{"name":"正文.pdf","content_type":"application/pdf","size":1024,"kind":"body"}`,
		`{"name":"a/b.pdf","content_type":"application/pdf","size":1}`, `{"name":"x","content_type":"APPLICATION/PDF ","size":52428801}`} {
		f.Add([]byte(seed))
	}
	s := defaultSettings()
	existing := []docFile{{Name: "正文.pdf", Kind: fileKindBody}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in fileInput
		if decodeBody(body, &in) != nil {
			return
		}
		if err := s.checkFile(&in, existing); err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.status < 400 || e.status > 499 {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		if in.Size <= 0 || in.Size > s.MaxAttachmentBytes || !slices.Contains(s.AttachmentTypes, in.ContentType) || in.Kind != fileKindAttachment ||
			in.Name == "" || in.Name == "正文.pdf" || strings.ContainsAny(in.Name, "/\\") {
			t.Fatalf("%q: accepted %+v", body, in)
		}
	})
}

func FuzzParseReceivedID(f *testing.F) {
	id := sdk.NewestFirstID(time.Unix(0, 0))
	for _, seed := range []string{id + ".3", id, id + ".0", id + ".-1", id + ".03", "x.3", id + ".3.4"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, unit, ok := parseReceivedID(s)
		if ok && (receivedID(doc, unit) != s || !sdk.ValidNewestFirstID(doc) || unit <= 0) {
			t.Fatalf("%q: %s %d", s, doc, unit)
		}
	})
}

func FuzzParseSettings(f *testing.F) {
	for _, seed := range []string{`{}`, `{"max_attachments":3}`, `{"attachment_types":["application/pdf"]}`, ``, `null`, `[]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := parseSettings(raw)
		if err == nil && strings.TrimSpace(string(raw)) == "{}" && (s.MaxAttachments != defaultMaxAttachments || s.MaxAttachmentBytes != defaultMaxAttachmentBytes) {
			t.Fatalf("%q: %+v", raw, s)
		}
	})
}

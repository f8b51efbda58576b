package vod

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func FuzzParseRoute(f *testing.F) {
	id := sdk.NewestFirstID(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	for _, seed := range []string{"/videos", "/videos/" + id, "/videos/" + id + "/views", "/reports/views", "/categories", "/", "", "//", "/videos/" + id + "/"} {
		for _, method := range []string{"GET", "POST", "PATCH", "DELETE", "PUT"} {
			f.Add(method, seed)
		}
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		got, err := parseRoute(method, path)
		if err != nil {
			if err.status != http.StatusNotFound && err.status != http.StatusMethodNotAllowed || err.code == "" || err.message == "" {
				t.Fatalf("%s %q: %+v", method, path, err)
			}
			return
		}
		if got.route == 0 || !strings.HasPrefix(path, "/") {
			t.Fatalf("%s %q: %+v", method, path, got)
		}
		if strings.HasPrefix(path, "/videos/") != (got.video != "") || got.video != "" && !sdk.ValidNewestFirstID(got.video) {
			t.Fatalf("%s %q: video %q", method, path, got.video)
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	for _, seed := range []string{"", "category=meetings&unit_id=3&limit=10", "status=uploading&after=" + sdk.NewestFirstID(time.Unix(0, 0)), "limit=-1", "a=%zz", "unit_id=+3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseListQuery(raw)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.status != http.StatusBadRequest {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if q.limit < 1 || q.limit > maxPageSize || q.unit < 0 || q.status != statusReady && q.status != statusUploading ||
			q.category != "" && categoryName(q.category) == "" || q.after != "" && !sdk.ValidNewestFirstID(q.after) {
			t.Fatalf("%q: %+v", raw, q)
		}
		if w := q.where(); w["status"] != q.status || w["category"] != q.category || (q.unit == 0) == (w["unit_id"] != "") {
			t.Fatalf("%q: where %v for %+v", raw, w, q)
		}
	})
}

func FuzzParseReportQuery(f *testing.F) {
	for _, seed := range []string{"", "month=2025-01", "month=2025-13", "video_id=" + sdk.NewestFirstID(time.Unix(0, 0)), "unit_id=9&month=1999-12"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseReportQuery(raw)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.status != http.StatusBadRequest {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if q.month != "" {
			if _, err := time.Parse("2006-01", q.month); err != nil || len(q.month) != 7 {
				t.Fatalf("%q: month %q", raw, q.month)
			}
		}
		if q.video != "" && !sdk.ValidNewestFirstID(q.video) || q.unit < 0 {
			t.Fatalf("%q: %+v", raw, q)
		}
	})
}

// FuzzCreateBody: whatever a body holds, it is refused as bad input or
// gives a video whose fields are within their limits.
func FuzzCreateBody(f *testing.F) {
	for _, seed := range []string{
		`{"title":"会议","category":"meetings","unit_id":3,"duration_seconds":60,"file":{"name":"a.mp4","content_type":"video/mp4","size":10}}`,
		`{"title":" x ","category":"other","unit_id":1,"file":{"name":"b","content_type":"video/webm; codecs=\"vp9\"","size":1}}`,
		`{"title":"x","unit_id":1e3}`,
		`{}`, `[]`, `null`, ``, `{"title":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	s := defaultSettings()
	f.Fuzz(func(t *testing.T, body []byte) {
		var in createInput
		err := decodeBody(body, &in)
		if err == nil {
			var doc videoDoc
			if doc, err = checkCreate(in, s); err == nil {
				if doc.Title != strings.TrimSpace(doc.Title) || doc.Title == "" || !utf8.ValidString(doc.Title) || utf8.RuneCountInString(doc.Title) > maxTitleRunes ||
					!slices.Contains(s.Categories, doc.Category) || doc.UnitID <= 0 || doc.SizeBytes <= 0 || doc.SizeBytes > s.MaxVideoBytes ||
					doc.DurationSeconds < 0 || doc.DurationSeconds > maxDurationSeconds || strings.ContainsAny(doc.FileName, `/\`) {
					t.Fatalf("%q gives %+v", body, doc)
				}
				if ct, err := videoContentType(doc.ContentType); err != nil || ct != doc.ContentType {
					t.Fatalf("%q: content type %q is not canonical: %q, %v", body, doc.ContentType, ct, err)
				}
				return
			}
		}
		var e *apiError
		if !errors.As(err, &e) || e.status != http.StatusBadRequest {
			t.Fatalf("%q: %v", body, err)
		}
	})
}

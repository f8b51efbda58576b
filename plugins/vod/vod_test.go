package vod

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func TestManifest(t *testing.T) {
	m := Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := sdk.ParseManifest(data)
	if err != nil || back.ID != "vod" || back.Name != "视频点播" || back.Protocol != sdk.ProtocolVersion {
		t.Fatalf("%+v, %v", back, err)
	}
}

// TestSettingsSchema compiles the schema as the host does and holds it to
// the module's categories and defaults.
func TestSettingsSchema(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(settingsSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("countycloud:vod/settings.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("countycloud:vod/settings.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		settings string
		ok       bool
	}{
		{`{}`, true},
		{`{"categories":["meetings","training"]}`, true},
		{`{"categories":["meetings"],"max_video_bytes":1073741824}`, true},
		{`{"categories":[]}`, false},
		{`{"categories":["cooking"]}`, false},
		{`{"categories":["meetings","meetings"]}`, false},
		{`{"max_video_bytes":1024}`, false},
		{`{"max_video_bytes":9000000000}`, false},
		{`{"colour":"red"}`, false},
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.settings))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.settings, err, tc.ok)
		}
	}

	var s struct {
		Properties struct {
			Categories struct {
				Items   struct{ Enum []string }
				Default []string
			}
			MaxVideoBytes struct {
				Default int64
			} `json:"max_video_bytes"`
		}
	}
	if err := json.Unmarshal([]byte(settingsSchema), &s); err != nil {
		t.Fatal(err)
	}
	d := defaultSettings()
	if !slices.Equal(s.Properties.Categories.Items.Enum, d.Categories) || !slices.Equal(s.Properties.Categories.Default, d.Categories) ||
		s.Properties.MaxVideoBytes.Default != d.MaxVideoBytes {
		t.Fatalf("the schema's %+v against the defaults %+v", s.Properties, d)
	}
}

func TestParseRoute(t *testing.T) {
	id := sdk.NewestFirstID(time.Now())
	for _, tc := range []struct {
		method, path string
		route        route
		status       int
	}{
		{"GET", "/categories", routeCategories, 0},
		{"GET", "/videos", routeListVideos, 0},
		{"POST", "/videos", routeCreateVideo, 0},
		{"GET", "/videos/" + id, routeGetVideo, 0},
		{"PATCH", "/videos/" + id, routeUpdateVideo, 0},
		{"DELETE", "/videos/" + id, routeDeleteVideo, 0},
		{"POST", "/videos/" + id + "/complete", routeCompleteUpload, 0},
		{"GET", "/videos/" + id + "/playback", routePlayback, 0},
		{"POST", "/videos/" + id + "/views", routeRecordView, 0},
		{"GET", "/reports/views", routeViewReport, 0},
		{"DELETE", "/videos", 0, http.StatusMethodNotAllowed},
		{"GET", "/videos/" + id + "/views", 0, http.StatusMethodNotAllowed},
		{"GET", "/", 0, http.StatusNotFound},
		{"GET", "", 0, http.StatusNotFound},
		{"GET", "videos", 0, http.StatusNotFound},
		{"GET", "/videos/", 0, http.StatusNotFound},
		{"GET", "/videos//playback", 0, http.StatusNotFound},
		{"GET", "/videos/" + strings.ToUpper(id), 0, http.StatusNotFound},
		{"GET", "/videos/" + id + "/", 0, http.StatusNotFound},
		{"GET", "/videos/" + id + "/download", 0, http.StatusNotFound},
		{"GET", "/reports", 0, http.StatusNotFound},
		{"GET", "/videos/" + id + "/playback/x", 0, http.StatusNotFound},
	} {
		got, err := parseRoute(tc.method, tc.path)
		switch {
		case tc.status == 0 && (err != nil || got.route != tc.route):
			t.Errorf("%s %s: %+v, %v", tc.method, tc.path, got, err)
		case tc.status == 0 && strings.HasPrefix(tc.path, "/videos/") && got.video != id:
			t.Errorf("%s %s: video %q", tc.method, tc.path, got.video)
		case tc.status != 0 && (err == nil || err.status != tc.status):
			t.Errorf("%s %s: %+v, %v, want %d", tc.method, tc.path, got, err, tc.status)
		}
	}
}

func TestParseListQuery(t *testing.T) {
	id := sdk.NewestFirstID(time.Now())
	q, err := parseListQuery("")
	if err != nil || q.status != statusReady || q.limit != defaultPageSize {
		t.Fatalf("%+v, %v", q, err)
	}
	q, err = parseListQuery("category=policy&unit_id=12&status=uploading&limit=200&after=" + id)
	if err != nil || q.category != "policy" || q.unit != 12 || q.status != statusUploading || q.limit != 200 || q.after != id {
		t.Fatalf("%+v, %v", q, err)
	}
	if w := q.where(); len(w) != 3 || w["category"] != "policy" || w["unit_id"] != "12" || w["status"] != statusUploading {
		t.Fatalf("where %v", w)
	}
	for _, bad := range []string{"category=cooking", "unit_id=0", "unit_id=-1", "unit_id=012", "unit_id=1.5", "status=deleted",
		"limit=0", "limit=201", "limit=x", "after=x", "page=2", "limit=1&limit=2", "%zz"} {
		if _, err := parseListQuery(bad); err == nil {
			t.Errorf("%s is accepted", bad)
		}
	}
}

func TestParseReportQuery(t *testing.T) {
	id := sdk.NewestFirstID(time.Now())
	q, err := parseReportQuery("month=2025-01&unit_id=7&video_id=" + id)
	if err != nil || q.month != "2025-01" || q.unit != 7 || q.video != id {
		t.Fatalf("%+v, %v", q, err)
	}
	if w := q.where(); len(w) != 3 || w["month"] != "2025-01" || w["unit_id"] != "7" || w["video_id"] != id {
		t.Fatalf("where %v", w)
	}
	if q, err := parseReportQuery(""); err != nil || len(q.where()) != 0 {
		t.Fatalf("%+v, %v", q, err)
	}
	for _, bad := range []string{"month=2025-1", "month=2025-13", "month=2025-00", "month=25-01", "month=2025-01-01", "video_id=x", "unit_id=x", "day=2025-01-01"} {
		if _, err := parseReportQuery(bad); err == nil {
			t.Errorf("%s is accepted", bad)
		}
	}
}

func TestCheckCreate(t *testing.T) {
	s := defaultSettings()
	good := createInput{Title: "  全县安全生产培训 ", Category: "training", UnitID: 3, DurationSeconds: 5400,
		File: fileInput{Name: "安全生产.mp4", ContentType: "Video/MP4", Size: 700 << 20}}
	doc, err := checkCreate(good, s)
	if err != nil || doc.Title != "全县安全生产培训" || doc.ContentType != "video/mp4" || doc.FileName != "安全生产.mp4" || doc.SizeBytes != 700<<20 {
		t.Fatalf("%+v, %v", doc, err)
	}
	for name, change := range map[string]func(*createInput){
		"empty title":        func(in *createInput) { in.Title = " \t" },
		"long title":         func(in *createInput) { in.Title = strings.Repeat("会", maxTitleRunes+1) },
		"control in title":   func(in *createInput) { in.Title = "a\x00b" },
		"not UTF-8":          func(in *createInput) { in.Title = "\xff" },
		"unknown category":   func(in *createInput) { in.Category = "cooking" },
		"no unit":            func(in *createInput) { in.UnitID = 0 },
		"negative duration":  func(in *createInput) { in.DurationSeconds = -1 },
		"too long":           func(in *createInput) { in.DurationSeconds = maxDurationSeconds + 1 },
		"a path":             func(in *createInput) { in.File.Name = "../x.mp4" },
		"no file name":       func(in *createInput) { in.File.Name = "" },
		"not a video":        func(in *createInput) { in.File.ContentType = "application/pdf" },
		"bare video/":        func(in *createInput) { in.File.ContentType = "video/" },
		"no content type":    func(in *createInput) { in.File.ContentType = "" },
		"empty file":         func(in *createInput) { in.File.Size = 0 },
		"over the county's":  func(in *createInput) { in.File.Size = s.MaxVideoBytes + 1 },
		"category not taken": func(in *createInput) { in.Category = "other" },
	} {
		in := good
		change(&in)
		settings := s
		if name == "category not taken" {
			settings.Categories = []string{"meetings", "training"}
		}
		if _, err := checkCreate(in, settings); err == nil {
			t.Errorf("%s is accepted", name)
		}
	}
	// Every problem is told at once.
	_, err = checkCreate(createInput{}, s)
	if e, ok := err.(*apiError); !ok || e.code != codeInvalidVideo || strings.Count(e.message, ";") < 4 {
		t.Fatalf("%v", err)
	}
}

func TestApplyUpdate(t *testing.T) {
	s := defaultSettings()
	doc := videoDoc{Title: "旧", Category: "meetings", UnitID: 3, DurationSeconds: 60, FileID: "f", Status: statusReady}
	title, unit := "新", int64(4)
	got, err := applyUpdate(doc, updateInput{Version: 2, Title: &title, UnitID: &unit}, s)
	if err != nil || got.Title != "新" || got.UnitID != 4 || got.Category != "meetings" || got.FileID != "f" || got.Status != statusReady {
		t.Fatalf("%+v, %v", got, err)
	}
	bad, zero, long := "cooking", int64(0), int64(maxDurationSeconds+1)
	for name, in := range map[string]updateInput{
		"no version":    {Title: &title},
		"nothing":       {Version: 2},
		"bad category":  {Version: 2, Category: &bad},
		"no unit":       {Version: 2, UnitID: &zero},
		"long duration": {Version: 2, DurationSeconds: &long},
	} {
		if _, err := applyUpdate(doc, in, s); err == nil {
			t.Errorf("%s is accepted", name)
		}
	}
}

func TestPlaybackTTL(t *testing.T) {
	for seconds, want := range map[int64]time.Duration{
		0:                  time.Hour,
		600:                time.Hour,
		3600:               2*time.Hour + 30*time.Minute,
		maxDurationSeconds: 24 * time.Hour,
	} {
		if got := playbackTTL(seconds); got != want {
			t.Errorf("%d s: %s, want %s", seconds, got, want)
		}
	}
}

// TestVideoIDs: ids are valid, unique, and a later video's sorts first.
func TestVideoIDs(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := sdk.NewestFirstID(at.Add(time.Duration(i) * time.Millisecond))
		if !sdk.ValidNewestFirstID(id) || seen[id] {
			t.Fatalf("id %q: valid %v, seen %v", id, sdk.ValidNewestFirstID(id), seen[id])
		}
		seen[id] = true
		if prev != "" && id >= prev {
			t.Fatalf("%s, made later, sorts after %s", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "x", strings.Repeat("0", 25), strings.Repeat("0", 27), strings.Repeat("i", 26), strings.Repeat("A", 26), strings.Repeat("0", 25) + "."} {
		if sdk.ValidNewestFirstID(bad) {
			t.Errorf("%q is valid", bad)
		}
	}
}

func TestChinaDay(t *testing.T) {
	for utc, want := range map[string]string{
		"2025-03-14T15:59:59Z": "2025-03-14",
		"2025-03-14T16:00:00Z": "2025-03-15",
		"2024-12-31T16:00:00Z": "2025-01-01",
	} {
		at, err := time.Parse(time.RFC3339, utc)
		if err != nil {
			t.Fatal(err)
		}
		if day, month := chinaDay(at); day != want || month != want[:7] {
			t.Errorf("%s: %s %s, want %s", utc, day, month, want)
		}
	}
}

func TestTally(t *testing.T) {
	tl := newTally()
	for _, v := range []viewDoc{
		{VideoID: "a", AccountID: 1, Login: "old", UnitID: 10, Day: "2025-03-01", Plays: 2},
		{VideoID: "a", AccountID: 1, Login: "new", UnitID: 11, Day: "2025-03-02", Plays: 1},
		{VideoID: "b", AccountID: 1, Login: "new", UnitID: 11, Day: "2025-03-02", Plays: 1},
		{VideoID: "a", AccountID: 2, Login: "b", UnitID: 11, Day: "2025-03-01", Plays: 4},
		{VideoID: "c", AccountID: 3, Login: "c", UnitID: 12, Day: "2025-03-01", Plays: 4},
	} {
		tl.add(v)
	}
	r := tl.report(reportQuery{month: "2025-03"})
	if r.Plays != 12 || r.Viewers != 3 || r.Month != "2025-03" {
		t.Fatalf("%+v", r)
	}
	if want := []unitReport{{UnitID: 11, Plays: 6, Viewers: 2, Videos: 2}, {UnitID: 12, Plays: 4, Viewers: 1, Videos: 1}, {UnitID: 10, Plays: 2, Viewers: 1, Videos: 1}}; !slices.Equal(r.Units, want) {
		t.Fatalf("units %+v", r.Units)
	}
	// Ties go by id; an account shows its latest login and unit.
	if want := []accountReport{{AccountID: 1, Login: "new", UnitID: 11, Plays: 4, Videos: 2}, {AccountID: 2, Login: "b", UnitID: 11, Plays: 4, Videos: 1}, {AccountID: 3, Login: "c", UnitID: 12, Plays: 4, Videos: 1}}; !slices.Equal(r.Accounts, want) {
		t.Fatalf("accounts %+v", r.Accounts)
	}
	if want := []videoReport{{VideoID: "a", Plays: 7, Viewers: 2}, {VideoID: "c", Plays: 4, Viewers: 1}, {VideoID: "b", Plays: 1, Viewers: 1}}; !slices.Equal(r.Videos, want) {
		t.Fatalf("videos %+v", r.Videos)
	}
}

func TestAccess(t *testing.T) {
	for _, tc := range []struct {
		who                                  sdk.Caller
		read, watch, manage20, manage30, any bool
		reportUnit                           int64
		report                               bool
	}{
		{countyAdmin(), true, true, true, true, true, 0, true},
		{vodAdmin(), true, true, true, true, true, 0, true},
		{unitAdmin(), true, true, true, false, true, 20, true},
		{clerk(), true, true, false, false, false, 0, false},
		{operator(), true, false, false, false, false, 0, true},
		// An operator holding a county's role is still an operator.
		{sdk.Caller{AccountID: 9, Roles: []string{"operator", "system_admin"}}, true, false, false, false, false, 0, true},
		// A unit_admin without a unit administers nothing.
		{sdk.Caller{AccountID: 7, Roles: []string{"unit_admin"}}, true, true, false, false, false, 0, false},
		{sdk.Caller{}, false, false, false, false, false, 0, false},
	} {
		a := accessOf(tc.who)
		unit, report := a.reportUnit()
		if a.canRead() != tc.read || a.canWatch() != tc.watch || a.canManage(20) != tc.manage20 || a.canManage(30) != tc.manage30 ||
			a.canManageSome() != tc.any || unit != tc.reportUnit || report != tc.report {
			t.Errorf("%+v: %+v", tc.who, a)
		}
	}
}

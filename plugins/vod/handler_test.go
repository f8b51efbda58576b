package vod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// Callers of the tests: unit 20 has a unit_admin and a clerk.
func countyAdmin() sdk.Caller {
	return sdk.Caller{Login: "admin", AccountID: 1, UnitID: 10, Roles: []string{"system_admin"}}
}
func unitAdmin() sdk.Caller {
	return sdk.Caller{Login: "ua20", AccountID: 2, UnitID: 20, Roles: []string{"unit_admin"}}
}
func clerk() sdk.Caller {
	return sdk.Caller{Login: "zhangsan", AccountID: 3, UnitID: 20, Roles: []string{"clerk"}}
}
func otherStaff() sdk.Caller { return sdk.Caller{Login: "lisi", AccountID: 4, UnitID: 30} }
func vodAdmin() sdk.Caller {
	return sdk.Caller{Login: "vod", AccountID: 5, UnitID: 40, Roles: []string{"vod_admin"}}
}
func operator() sdk.Caller { return sdk.Caller{Login: "op", AccountID: 9, Roles: []string{"operator"}} }

type tester struct {
	t    *testing.T
	mu   sync.Mutex
	now  time.Time
	host *sdkfake.Host
	m    *module
}

func newTester(t *testing.T) *tester {
	tt := &tester{t: t, now: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	tt.host = sdkfake.New(Manifest(), tt.clock)
	tt.host.AddUnits(sdk.Unit{ID: 20, Name: "县政府办"}, sdk.Unit{ID: 30, Name: "民政局"})
	tt.m = &module{now: tt.clock, log: hclog.NewNullLogger()}
	return tt
}

func (tt *tester) clock() time.Time {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.now
}

func (tt *tester) advance(d time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.now = tt.now.Add(d)
}

// do serves one request and decodes its answer into out, if given.
func (tt *tester) do(who sdk.Caller, method, path, query string, body any, out any) int {
	tt.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			tt.t.Fatal(err)
		}
	}
	resp, err := tt.m.serve(context.Background(), &sdk.Request{Method: method, Path: path, Query: query, Body: data, Caller: who, RequestID: "req-1"}, tt.host)
	if err != nil {
		tt.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.Status != http.StatusNoContent && resp.Header["Content-Type"] != "application/json; charset=utf-8" {
		tt.t.Fatalf("%s %s: content type %q", method, path, resp.Header["Content-Type"])
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			tt.t.Fatalf("%s %s: %v in %s", method, path, err, resp.Body)
		}
	}
	return resp.Status
}

// fails serves a request that must be refused with status and code.
func (tt *tester) fails(who sdk.Caller, method, path, query string, body any, status int, code string) {
	tt.t.Helper()
	var e sdk.Refusal
	if got := tt.do(who, method, path, query, body, &e); got != status || e.Error.Code != code || e.Error.Message == "" {
		tt.t.Fatalf("%s %s?%s as %s: %d %+v, want %d %s", method, path, query, who.Login, got, e, status, code)
	}
}

type created struct {
	Video  video  `json:"video"`
	Upload upload `json:"upload"`
}

func newVideoBody(title, category string, unit int64) map[string]any {
	return map[string]any{"title": title, "category": category, "unit_id": unit, "duration_seconds": 3600,
		"file": map[string]any{"name": "meeting.mp4", "content_type": "video/mp4", "size": 1 << 30}}
}

// ready creates a video as who and completes its upload.
func (tt *tester) ready(who sdk.Caller, title, category string, unit int64) video {
	tt.t.Helper()
	var c created
	if got := tt.do(who, "POST", "/videos", "", newVideoBody(title, category, unit), &c); got != http.StatusCreated {
		tt.t.Fatalf("create: %d", got)
	}
	tt.host.Arrive(tt.t, c.Video.FileID)
	var v video
	if got := tt.do(who, "POST", "/videos/"+c.Video.ID+"/complete", "", nil, &v); got != http.StatusOK || v.Status != statusReady {
		tt.t.Fatalf("complete: %d %+v", got, v)
	}
	return v
}

type videoList struct {
	Videos []video `json:"videos"`
	Next   string  `json:"next"`
}

func TestVideoLifecycle(t *testing.T) {
	tt := newTester(t)

	var c created
	if got := tt.do(countyAdmin(), "POST", "/videos", "", newVideoBody(" 2025年全县工作会议 ", "meetings", 20), &c); got != http.StatusCreated {
		t.Fatalf("create: %d", got)
	}
	v := c.Video
	if v.Title != "2025年全县工作会议" || v.Status != statusUploading || v.Version != 1 || v.UnitID != 20 || v.CategoryName != "会议" ||
		v.CreatedBy != 1 || v.CreatedByLogin != "admin" || v.FileID == "" || !sdk.ValidNewestFirstID(v.ID) {
		t.Fatalf("created %+v", v)
	}
	if c.Upload.Method != "PUT" || c.Upload.URL == "" || c.Upload.ExpiresAt.IsZero() {
		t.Fatalf("upload %+v", c.Upload)
	}

	// An unfinished upload is its managers' to see.
	var list videoList
	if tt.do(clerk(), "GET", "/videos", "", nil, &list); len(list.Videos) != 0 {
		t.Fatalf("the clerk() lists %+v", list.Videos)
	}
	tt.fails(clerk(), "GET", "/videos/"+v.ID, "", nil, http.StatusNotFound, codeVideoNotFound)
	tt.fails(clerk(), "GET", "/videos", "status=uploading", nil, http.StatusForbidden, codeForbidden)
	if tt.do(unitAdmin(), "GET", "/videos", "status=uploading", nil, &list); len(list.Videos) != 1 {
		t.Fatalf("the unit's admin lists %+v", list.Videos)
	}
	tt.fails(countyAdmin(), "GET", "/videos/"+v.ID+"/playback", "", nil, http.StatusConflict, codeVideoNotReady)

	// Completing before the bytes arrive is refused; after, it is done
	// once and then answered as done.
	tt.fails(unitAdmin(), "POST", "/videos/"+v.ID+"/complete", "", nil, http.StatusConflict, codeUploadIncomplete)
	tt.host.Arrive(t, v.FileID)
	tt.fails(clerk(), "POST", "/videos/"+v.ID+"/complete", "", nil, http.StatusNotFound, codeVideoNotFound)
	var done video
	if got := tt.do(unitAdmin(), "POST", "/videos/"+v.ID+"/complete", "", nil, &done); got != http.StatusOK || done.Status != statusReady || done.Version != 2 {
		t.Fatalf("complete: %d %+v", got, done)
	}
	if got := tt.do(unitAdmin(), "POST", "/videos/"+v.ID+"/complete", "", nil, &done); got != http.StatusOK || done.Version != 2 {
		t.Fatalf("complete again: %d %+v", got, done)
	}

	if tt.do(otherStaff(), "GET", "/videos", "", nil, &list); len(list.Videos) != 1 || list.Videos[0].ID != v.ID {
		t.Fatalf("staff list %+v", list.Videos)
	}
	var play struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if got := tt.do(otherStaff(), "GET", "/videos/"+v.ID+"/playback", "", nil, &play); got != http.StatusOK || play.URL == "" ||
		!play.ExpiresAt.Equal(tt.clock().Add(2*time.Hour+30*time.Minute)) {
		t.Fatalf("playback: %d %+v", got, play)
	}

	// Changes need the version read.
	var changed video
	if got := tt.do(unitAdmin(), "PATCH", "/videos/"+v.ID, "", map[string]any{"version": 2, "title": "工作会议（全程）", "category": "training"}, &changed); got != http.StatusOK ||
		changed.Version != 3 || changed.Title != "工作会议（全程）" || changed.CategoryName != "培训" || changed.FileID != v.FileID || changed.Status != statusReady {
		t.Fatalf("update: %d %+v", got, changed)
	}
	tt.fails(unitAdmin(), "PATCH", "/videos/"+v.ID, "", map[string]any{"version": 2, "title": "x"}, http.StatusConflict, codeVersionConflict)
	tt.fails(clerk(), "PATCH", "/videos/"+v.ID, "", map[string]any{"version": 3, "title": "x"}, http.StatusForbidden, codeForbidden)
	tt.fails(unitAdmin(), "DELETE", "/videos/"+v.ID, "version=2", nil, http.StatusConflict, codeVersionConflict)
	tt.fails(unitAdmin(), "DELETE", "/videos/"+v.ID, "", nil, http.StatusBadRequest, codeInvalidQuery)

	if got := tt.do(unitAdmin(), "DELETE", "/videos/"+v.ID, "version=3", nil, nil); got != http.StatusNoContent {
		t.Fatalf("delete: %d", got)
	}
	if _, err := tt.host.File(context.Background(), v.FileID); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("the file outlives its video: %v", err)
	}
	tt.fails(countyAdmin(), "GET", "/videos/"+v.ID, "", nil, http.StatusNotFound, codeVideoNotFound)

	var actions []string
	audits := tt.host.Audits()
	for _, e := range audits {
		if e.ObjectID != v.ID || e.ObjectType != "video" {
			t.Fatalf("audit %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if want := []string{"video.create", "video.ready", "video.update", "video.delete"}; !equal(actions, want) {
		t.Fatalf("audited %v, want %v", actions, want)
	}
	if e := audits[0]; e.Before != nil || e.After == nil {
		t.Fatalf("a creation is audited without a before and with an after: %+v", e)
	}
	if e := audits[3]; e.Before == nil || e.After != nil {
		t.Fatalf("a deletion is audited with a before and without an after: %+v", e)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAuthorisation(t *testing.T) {
	tt := newTester(t)
	v := tt.ready(countyAdmin(), "培训", "training", 20)

	tt.fails(clerk(), "POST", "/videos", "", newVideoBody("x", "other", 20), http.StatusForbidden, codeForbidden)
	tt.fails(operator(), "POST", "/videos", "", newVideoBody("x", "other", 20), http.StatusForbidden, codeForbidden)
	tt.fails(unitAdmin(), "POST", "/videos", "", newVideoBody("x", "other", 30), http.StatusForbidden, codeForbidden)
	tt.fails(sdk.Caller{}, "GET", "/videos", "", nil, http.StatusForbidden, codeForbidden)

	// A unit_admin's video is its own unit's unless it says otherwise.
	var c created
	if got := tt.do(unitAdmin(), "POST", "/videos", "", newVideoBody("本单位", "other", 0), &c); got != http.StatusCreated || c.Video.UnitID != 20 {
		t.Fatalf("unit admin creates: %d %+v", got, c.Video)
	}
	if got := tt.do(vodAdmin(), "POST", "/videos", "", newVideoBody("任意单位", "policy", 30), &c); got != http.StatusCreated || c.Video.UnitID != 30 {
		t.Fatalf("vod_admin creates: %d %+v", got, c.Video)
	}
	other := c.Video
	tt.fails(unitAdmin(), "PATCH", "/videos/"+v.ID, "", map[string]any{"version": v.Version, "unit_id": 30}, http.StatusForbidden, codeForbidden)
	tt.fails(unitAdmin(), "DELETE", "/videos/"+other.ID, "version=1", nil, http.StatusNotFound, codeVideoNotFound)
	tt.host.Arrive(t, other.FileID)
	tt.do(vodAdmin(), "POST", "/videos/"+other.ID+"/complete", "", nil, nil)
	tt.fails(unitAdmin(), "DELETE", "/videos/"+other.ID, "version=2", nil, http.StatusForbidden, codeForbidden)

	// Operators read and play, but neither change nor count.
	if got := tt.do(operator(), "GET", "/videos/"+v.ID+"/playback", "", nil, nil); got != http.StatusOK {
		t.Fatalf("operator() playback: %d", got)
	}
	tt.fails(operator(), "POST", "/videos/"+v.ID+"/views", "", nil, http.StatusForbidden, codeForbidden)
	tt.fails(operator(), "DELETE", "/videos/"+v.ID, "version=2", nil, http.StatusForbidden, codeForbidden)

	// Reports: the county's managers and operators read them all, a
	// unit_admin its own unit's, staff none.
	tt.fails(clerk(), "GET", "/reports/views", "", nil, http.StatusForbidden, codeForbidden)
	tt.fails(unitAdmin(), "GET", "/reports/views", "unit_id=30", nil, http.StatusForbidden, codeForbidden)
	for _, who := range []sdk.Caller{countyAdmin(), vodAdmin(), operator(), unitAdmin()} {
		if got := tt.do(who, "GET", "/reports/views", "", nil, nil); got != http.StatusOK {
			t.Fatalf("report as %s: %d", who.Login, got)
		}
	}
}

func TestViews(t *testing.T) {
	tt := newTester(t)
	a := tt.ready(countyAdmin(), "会议A", "meetings", 20)
	b := tt.ready(countyAdmin(), "培训B", "training", 30)

	type counted struct {
		Day   string `json:"day"`
		Plays int64  `json:"plays"`
	}
	var got counted
	for want := int64(1); want <= 3; want++ {
		if status := tt.do(clerk(), "POST", "/videos/"+a.ID+"/views", "", nil, &got); status != http.StatusOK || got.Plays != want || got.Day != "2025-03-14" {
			t.Fatalf("view %d: %d %+v", want, status, got)
		}
	}
	tt.do(otherStaff(), "POST", "/videos/"+a.ID+"/views", "", nil, nil)
	tt.do(otherStaff(), "POST", "/videos/"+b.ID+"/views", "", nil, nil)
	// 16:30 UTC is past midnight in China: the next day's record.
	tt.advance(7*time.Hour + 30*time.Minute)
	if tt.do(clerk(), "POST", "/videos/"+a.ID+"/views", "", nil, &got); got.Plays != 1 || got.Day != "2025-03-15" {
		t.Fatalf("the next day: %+v", got)
	}
	if n := tt.host.Count(collViews); n != 4 {
		t.Fatalf("%d view records, want one per video, day and account: 4", n)
	}
	// The plays are the units' measure, by the day in China: what the
	// rollout's usage reports show as video views.
	for _, m := range []struct {
		unit  int64
		day   string
		plays int64
	}{{20, "2025-03-14", 3}, {30, "2025-03-14", 2}, {20, "2025-03-15", 1}} {
		if got := tt.host.Measured(measurePlayed, m.unit, m.day); got != m.plays {
			t.Errorf("unit %d on %s: %d plays measured, want %d", m.unit, m.day, got, m.plays)
		}
	}

	report := func(who sdk.Caller, query string) viewReport {
		t.Helper()
		var r viewReport
		if status := tt.do(who, "GET", "/reports/views", query, nil, &r); status != http.StatusOK {
			t.Fatalf("report %s: %d", query, status)
		}
		return r
	}
	r := report(countyAdmin(), "month=2025-03")
	if r.Plays != 6 || r.Viewers != 2 || r.Month != "2025-03" || len(r.Units) != 2 || len(r.Accounts) != 2 || len(r.Videos) != 2 {
		t.Fatalf("report %+v", r)
	}
	if u := r.Units[0]; u.UnitID != 20 || u.Plays != 4 || u.Viewers != 1 || u.Videos != 1 {
		t.Fatalf("unit 20: %+v", u)
	}
	if u := r.Units[1]; u.UnitID != 30 || u.Plays != 2 || u.Viewers != 1 || u.Videos != 2 {
		t.Fatalf("unit 30: %+v", u)
	}
	if ac := r.Accounts[0]; ac.AccountID != 3 || ac.Login != "zhangsan" || ac.Plays != 4 || ac.Videos != 1 {
		t.Fatalf("account 3: %+v", ac)
	}
	if v := r.Videos[0]; v.VideoID != a.ID || v.Plays != 5 || v.Viewers != 2 {
		t.Fatalf("video a: %+v", v)
	}

	if r := report(unitAdmin(), ""); r.UnitID != 20 || r.Plays != 4 || len(r.Units) != 1 {
		t.Fatalf("the unit's report %+v", r)
	}
	if r := report(countyAdmin(), "video_id="+b.ID); r.Plays != 1 || len(r.Videos) != 1 {
		t.Fatalf("video b's report %+v", r)
	}
	if r := report(countyAdmin(), "month=2025-04"); r.Plays != 0 || r.Units == nil || len(r.Units) != 0 {
		t.Fatalf("an empty month's report %+v", r)
	}
	tt.fails(countyAdmin(), "GET", "/reports/views", "month=2025-13", nil, http.StatusBadRequest, codeInvalidQuery)

	// Views need a playable video.
	var c created
	tt.do(countyAdmin(), "POST", "/videos", "", newVideoBody("未完成", "other", 20), &c)
	tt.fails(unitAdmin(), "POST", "/videos/"+c.Video.ID+"/views", "", nil, http.StatusConflict, codeVideoNotReady)
	tt.fails(clerk(), "POST", "/videos/"+sdk.NewestFirstID(tt.clock())+"/views", "", nil, http.StatusNotFound, codeVideoNotFound)
}

// TestConcurrentViews: accounts watching at once never meet; one account
// in many tabs at once meets only itself, and every play it was told of
// is counted.
func TestConcurrentViews(t *testing.T) {
	tt := newTester(t)
	v := tt.ready(countyAdmin(), "全员培训", "training", 20)
	const accounts, tabs = 40, 8
	view := func(who sdk.Caller) *sdk.Response {
		resp, err := tt.m.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/videos/" + v.ID + "/views", Caller: who}, tt.host)
		if err != nil {
			t.Error(err)
			return &sdk.Response{}
		}
		return resp
	}
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Go(func() {
			if resp := view(sdk.Caller{Login: "u" + strconv.Itoa(i), AccountID: int64(100 + i), UnitID: int64(20 + i%3)}); resp.Status != http.StatusOK {
				t.Errorf("an uncontended view: %d %s", resp.Status, resp.Body)
			}
		})
	}
	counted := make(chan int64, tabs)
	for range tabs {
		wg.Go(func() {
			resp := view(clerk())
			var e sdk.Refusal
			switch resp.Status {
			case http.StatusOK:
				counted <- 1
			case http.StatusConflict:
				if json.Unmarshal(resp.Body, &e); e.Error.Code != codeBusy {
					t.Errorf("a contended view: %s", resp.Body)
				}
			default:
				t.Errorf("a contended view: %d %s", resp.Status, resp.Body)
			}
		})
	}
	wg.Wait()
	close(counted)
	var told int64
	for n := range counted {
		told += n
	}
	var r viewReport
	tt.do(countyAdmin(), "GET", "/reports/views", "", nil, &r)
	if r.Viewers != accounts+1 || r.Plays != accounts+told || told == 0 {
		t.Fatalf("report %d viewers, %d plays; %d accounts and %d plays told", r.Viewers, r.Plays, accounts, told)
	}
}

func TestPagination(t *testing.T) {
	tt := newTester(t)
	var made []string
	for i := range 5 {
		made = append(made, tt.ready(countyAdmin(), "视频"+strconv.Itoa(i), "meetings", 20).ID)
		tt.advance(time.Second)
	}
	tt.ready(countyAdmin(), "培训", "training", 30)

	var seen []string
	after := ""
	for range 10 {
		var list videoList
		q := "category=meetings&limit=2"
		if after != "" {
			q += "&after=" + after
		}
		if status := tt.do(clerk(), "GET", "/videos", q, nil, &list); status != http.StatusOK {
			t.Fatalf("list: %d", status)
		}
		for _, v := range list.Videos {
			seen = append(seen, v.ID)
		}
		if after = list.Next; after == "" {
			break
		}
	}
	// Newest first.
	want := []string{made[4], made[3], made[2], made[1], made[0]}
	if !equal(seen, want) {
		t.Fatalf("listed %v, want %v", seen, want)
	}
	var list videoList
	if tt.do(clerk(), "GET", "/videos", "unit_id=30", nil, &list); len(list.Videos) != 1 || list.Videos[0].UnitID != 30 {
		t.Fatalf("unit 30 lists %+v", list.Videos)
	}
}

func TestRefusals(t *testing.T) {
	tt := newTester(t)
	id := sdk.NewestFirstID(tt.clock())
	tt.fails(clerk(), "GET", "/nothing", "", nil, http.StatusNotFound, codeRouteNotFound)
	tt.fails(clerk(), "PUT", "/videos", "", nil, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	tt.fails(clerk(), "GET", "/videos/not-an-id", "", nil, http.StatusNotFound, codeVideoNotFound)
	tt.fails(clerk(), "GET", "/videos", "categroy=meetings", nil, http.StatusBadRequest, codeInvalidQuery)
	tt.fails(clerk(), "GET", "/videos", "limit=500", nil, http.StatusBadRequest, codeInvalidQuery)
	tt.fails(countyAdmin(), "POST", "/videos", "", "", http.StatusBadRequest, codeInvalidJSON)
	tt.fails(countyAdmin(), "POST", "/videos", "", `{"title":"x","colour":"red"}`, http.StatusBadRequest, codeInvalidJSON)
	tt.fails(countyAdmin(), "POST", "/videos", "", `{"title":"x"} {}`, http.StatusBadRequest, codeInvalidJSON)
	tt.fails(countyAdmin(), "POST", "/videos", "", newVideoBody("", "cooking", 20), http.StatusBadRequest, codeInvalidVideo)
	tt.fails(countyAdmin(), "PATCH", "/videos/"+id, "", map[string]any{"version": 1, "title": "x"}, http.StatusNotFound, codeVideoNotFound)
	tt.fails(countyAdmin(), "DELETE", "/videos/"+id, "version=1", nil, http.StatusNotFound, codeVideoNotFound)
	if n := tt.host.Count(collVideos); n != 0 {
		t.Fatalf("%d videos after refusals", n)
	}
}

// TestHostFailures: the host's refusals become answers; its faults
// become the module's error, which the host logs; a video that could not
// be recorded leaves no file behind; a trail that refuses an entry does
// not undo the change it records.
func TestHostFailures(t *testing.T) {
	tt := newTester(t)
	tt.host.SetFail(sdkfake.FromNth(1, fmt.Errorf("%w: the trail is closed", sdk.ErrInvalid), sdkfake.Match("Audit", "", "")))
	v := tt.ready(countyAdmin(), "会议", "meetings", 20)
	if len(tt.host.Audits()) != 0 || v.Status != statusReady {
		t.Fatalf("audits %v, video %+v", tt.host.Audits(), v)
	}

	unreachable := errors.New("the county's schema is unreachable")
	tt.host.SetFail(sdkfake.FromNth(1, unreachable, sdkfake.Match("Put", "", "")))
	_, err := tt.m.serve(context.Background(), &sdk.Request{Method: "POST", Path: "/videos", Body: mustJSON(t, newVideoBody("x", "other", 20)), Caller: countyAdmin()}, tt.host)
	if err == nil || !errors.Is(err, unreachable) {
		t.Fatalf("a host fault: %v", err)
	}
	if len(tt.host.Files()) != 1 {
		t.Fatalf("%d files: the unrecorded video's file is left", len(tt.host.Files()))
	}
	tt.host.SetFail(sdkfake.FromNth(1, sdk.ErrInvalid, sdkfake.Match("Put", "", "")))
	tt.fails(countyAdmin(), "POST", "/videos", "", newVideoBody("x", "other", 20), http.StatusBadRequest, codeHostRefused)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

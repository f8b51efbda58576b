package vod

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// View counting keeps one record per (video, day, account), counting
// that account's plays of the video that day, rather than one counter
// per video or per unit. A counter per video would be a hot record that
// every viewer of a county-wide training rewrites at 9 o'clock, each
// write racing the others' versions and retrying; a record per account
// and day is only ever written by that account, so the host's versions
// meet only when one person plays the same video in two tabs at once,
// and the first play of the day is a single create. The reports add the
// records up, and the records tell viewers from plays: reloading a page
// adds plays, never viewers.

// viewDoc is one account's plays of one video on one day.
type viewDoc struct {
	VideoID   string `json:"video_id"`
	AccountID int64  `json:"account_id"`
	Login     string `json:"login"`
	// UnitID is the account's unit when it played the video: the views
	// count for the unit it was in, even if it moves later.
	UnitID int64 `json:"unit_id"`
	// Day and Month are in China Standard Time, where every county is,
	// so that a day's views are a county's working day.
	Day    string    `json:"day"`
	Month  string    `json:"month"`
	Plays  int64     `json:"plays"`
	LastAt time.Time `json:"last_at"`
}

// chinaDay returns t's day (2006-01-02) and month (2006-01) in China
// Standard Time, UTC+8 all year.
func chinaDay(t time.Time) (day, month string) {
	t = t.In(time.FixedZone("CST", 8*60*60))
	return t.Format(time.DateOnly), t.Format("2006-01")
}

// viewID is the record of account's plays of video on day.
func viewID(video, day string, account int64) string {
	return video + "." + day + "." + strconv.FormatInt(account, 10)
}

// maxViewAttempts bounds the rounds of create, read and replace a view
// takes when its record keeps changing; only the same account playing
// the same video at the same moment makes it change.
const maxViewAttempts = 4

func (c *call) recordView(id string) (int, any, error) {
	if !c.who.canWatch() {
		return 0, nil, forbidden("views are counted for the county's accounts; an operator's are not")
	}
	v, err := c.readVideo(id)
	if err != nil {
		return 0, nil, err
	}
	if v.Status != statusReady {
		return 0, nil, newError(http.StatusConflict, codeVideoNotReady, "video %s is still uploading; it has no views yet", id)
	}
	day, month := chinaDay(c.now)
	first := viewDoc{VideoID: id, AccountID: c.who.account, Login: c.who.login, UnitID: c.who.unit, Day: day, Month: month, Plays: 1, LastAt: c.now.UTC()}
	view := viewID(id, day, c.who.account)
	counted, err := c.countView(view, first)
	if err != nil {
		return 0, nil, err
	}
	c.countPlay(view, counted)
	return http.StatusOK, struct {
		VideoID string `json:"video_id"`
		Day     string `json:"day"`
		Plays   int64  `json:"plays"`
	}{VideoID: id, Day: day, Plays: counted.Plays}, nil
}

// countView adds a play to record id, creating it as first if it is the
// day's first.
func (c *call) countView(id string, first viewDoc) (viewDoc, error) {
	for range maxViewAttempts {
		_, err := c.host.Put(c.ctx, collViews, id, 0, first)
		if !errors.Is(err, sdk.ErrConflict) {
			return first, fromHost(err, "view "+id)
		}
		r, err := c.host.Get(c.ctx, collViews, id)
		if errors.Is(err, sdk.ErrNotFound) {
			continue
		}
		if err != nil {
			return viewDoc{}, fromHost(err, "view "+id)
		}
		var prev viewDoc
		if err := json.Unmarshal(r.Document, &prev); err != nil {
			return viewDoc{}, fmt.Errorf("decode view %s: %w", id, err)
		}
		next := prev.again(first)
		_, err = c.host.Put(c.ctx, collViews, id, r.Version, next)
		if !errors.Is(err, sdk.ErrConflict) {
			return next, fromHost(err, "view "+id)
		}
	}
	return viewDoc{}, newError(http.StatusConflict, codeBusy, "this account's views of the video are being counted from elsewhere at the same moment; try again")
}

// again is v with one more play, as play (the same account, video and
// day) describes it.
func (v viewDoc) again(play viewDoc) viewDoc {
	v.Plays++
	v.Login, v.UnitID, v.LastAt = play.Login, play.UnitID, play.LastAt
	return v
}

// reportQuery is the query of GET /reports/views.
type reportQuery struct {
	month string
	video string
	unit  int64
}

// parseReportQuery reads GET /reports/views' query: month (2006-01, in
// China Standard Time), video_id and unit_id, each optional.
func parseReportQuery(raw string) (reportQuery, error) {
	q, err := parseQuery(raw, "month", "video_id", "unit_id")
	if err != nil {
		return reportQuery{}, err
	}
	var out reportQuery
	if v, ok := q["month"]; ok {
		m, err := time.Parse("2006-01", v)
		if err != nil || m.Format("2006-01") != v {
			return reportQuery{}, badRequest(codeInvalidQuery, "month %q is not a month such as 2025-01", v)
		}
		out.month = v
	}
	if v, ok := q["video_id"]; ok {
		if !sdk.ValidNewestFirstID(v) {
			return reportQuery{}, badRequest(codeInvalidQuery, "video_id %q is not a video's id", v)
		}
		out.video = v
	}
	if v, ok := q["unit_id"]; ok {
		if out.unit, err = positiveID("unit_id", v); err != nil {
			return reportQuery{}, err
		}
	}
	return out, nil
}

// where is the query's filter on the views' indexed fields.
func (q reportQuery) where() map[string]string {
	w := map[string]string{}
	if q.month != "" {
		w["month"] = q.month
	}
	if q.video != "" {
		w["video_id"] = q.video
	}
	if q.unit != 0 {
		w["unit_id"] = strconv.FormatInt(q.unit, 10)
	}
	return w
}

// maxReportRecords bounds the view records one report reads, 500 pages
// of the host's: a county's month of views is well under it, and a
// report that would read more must be narrowed rather than outlast the
// host's deadline.
const maxReportRecords = 100_000

func (c *call) viewReport() (int, any, error) {
	q, err := parseReportQuery(c.req.Query)
	if err != nil {
		return 0, nil, err
	}
	unit, ok := c.who.reportUnit()
	switch {
	case !ok:
		return 0, nil, forbidden("view reports are for system_admin, vod_admin, unit_admin and operators")
	case unit != 0 && q.unit != 0 && q.unit != unit:
		return 0, nil, forbidden("a unit_admin reads its own unit's (%d) views only", unit)
	case unit != 0:
		q.unit = unit
	}
	t := newTally()
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collViews, sdk.Query{Where: q.where(), Limit: maxPageSize, After: after})
		if err != nil {
			return 0, nil, fromHost(err, "the views")
		}
		for _, r := range page.Records {
			var v viewDoc
			if err := json.Unmarshal(r.Document, &v); err != nil {
				return 0, nil, fmt.Errorf("decode view %s: %w", r.ID, err)
			}
			t.add(v)
		}
		if t.records > maxReportRecords {
			return 0, nil, badRequest(codeReportTooLarge, "the report would add up over %d records of views; narrow it with month, video_id or unit_id", maxReportRecords)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	return http.StatusOK, t.report(q), nil
}

// tally adds up view records into a report.
type tally struct {
	records  int
	plays    int64
	viewers  map[int64]struct{}
	units    map[int64]*unitTally
	accounts map[int64]*accountTally
	videos   map[string]*videoTally
}

type unitTally struct {
	plays   int64
	viewers map[int64]struct{}
	videos  map[string]struct{}
}

type accountTally struct {
	login   string
	unit    int64
	lastDay string
	plays   int64
	videos  map[string]struct{}
}

type videoTally struct {
	plays   int64
	viewers map[int64]struct{}
}

func newTally() *tally {
	return &tally{viewers: map[int64]struct{}{}, units: map[int64]*unitTally{}, accounts: map[int64]*accountTally{}, videos: map[string]*videoTally{}}
}

func (t *tally) add(v viewDoc) {
	t.records++
	t.plays += v.Plays
	t.viewers[v.AccountID] = struct{}{}

	u := t.units[v.UnitID]
	if u == nil {
		u = &unitTally{viewers: map[int64]struct{}{}, videos: map[string]struct{}{}}
		t.units[v.UnitID] = u
	}
	u.plays += v.Plays
	u.viewers[v.AccountID] = struct{}{}
	u.videos[v.VideoID] = struct{}{}

	a := t.accounts[v.AccountID]
	if a == nil {
		a = &accountTally{videos: map[string]struct{}{}}
		t.accounts[v.AccountID] = a
	}
	a.plays += v.Plays
	a.videos[v.VideoID] = struct{}{}
	// An account is shown with its login and unit of its latest day.
	if v.Day >= a.lastDay {
		a.login, a.unit, a.lastDay = v.Login, v.UnitID, v.Day
	}

	vt := t.videos[v.VideoID]
	if vt == nil {
		vt = &videoTally{viewers: map[int64]struct{}{}}
		t.videos[v.VideoID] = vt
	}
	vt.plays += v.Plays
	vt.viewers[v.AccountID] = struct{}{}
}

// viewReport is GET /reports/views' answer. Viewers are distinct
// accounts; plays count every play, a reload included.
type viewReport struct {
	Month    string          `json:"month,omitempty"`
	VideoID  string          `json:"video_id,omitempty"`
	UnitID   int64           `json:"unit_id,omitempty"`
	Plays    int64           `json:"plays"`
	Viewers  int             `json:"viewers"`
	Units    []unitReport    `json:"units"`
	Accounts []accountReport `json:"accounts"`
	Videos   []videoReport   `json:"videos"`
}

type unitReport struct {
	UnitID  int64 `json:"unit_id"`
	Plays   int64 `json:"plays"`
	Viewers int   `json:"viewers"`
	Videos  int   `json:"videos"`
}

type accountReport struct {
	AccountID int64  `json:"account_id"`
	Login     string `json:"login"`
	UnitID    int64  `json:"unit_id"`
	Plays     int64  `json:"plays"`
	Videos    int    `json:"videos"`
}

type videoReport struct {
	VideoID string `json:"video_id"`
	Plays   int64  `json:"plays"`
	Viewers int    `json:"viewers"`
}

// report is the tally's report for q, each list the most played first
// and then by id, so that the same views always give the same report.
func (t *tally) report(q reportQuery) viewReport {
	out := viewReport{Month: q.month, VideoID: q.video, UnitID: q.unit, Plays: t.plays, Viewers: len(t.viewers),
		Units: make([]unitReport, 0, len(t.units)), Accounts: make([]accountReport, 0, len(t.accounts)), Videos: make([]videoReport, 0, len(t.videos))}
	for id, u := range t.units {
		out.Units = append(out.Units, unitReport{UnitID: id, Plays: u.plays, Viewers: len(u.viewers), Videos: len(u.videos)})
	}
	slices.SortFunc(out.Units, func(a, b unitReport) int {
		return cmp.Or(cmp.Compare(b.Plays, a.Plays), cmp.Compare(a.UnitID, b.UnitID))
	})
	for id, a := range t.accounts {
		out.Accounts = append(out.Accounts, accountReport{AccountID: id, Login: a.login, UnitID: a.unit, Plays: a.plays, Videos: len(a.videos)})
	}
	slices.SortFunc(out.Accounts, func(a, b accountReport) int {
		return cmp.Or(cmp.Compare(b.Plays, a.Plays), cmp.Compare(a.AccountID, b.AccountID))
	})
	for id, v := range t.videos {
		out.Videos = append(out.Videos, videoReport{VideoID: id, Plays: v.plays, Viewers: len(v.viewers)})
	}
	slices.SortFunc(out.Videos, func(a, b videoReport) int {
		return cmp.Or(cmp.Compare(b.Plays, a.Plays), cmp.Compare(a.VideoID, b.VideoID))
	})
	return out
}

package vod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Collections of the module's records.
const (
	collVideos = "videos"
	collViews  = "views"
)

// Manifest describes the module to the host's catalog.
func Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID:       "vod",
		Name:     "视频点播",
		Vendor:   "CountyCloud",
		Version:  "1.0.0",
		Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{
			// The catalogue is listed by category and by owning unit;
			// status keeps unfinished uploads out of the staff's list.
			collVideos: {Indexed: []string{"category", "unit_id", "status"}},
			// The reports narrow the views to a month, a video, a unit
			// or an account.
			collViews: {Indexed: []string{"video_id", "unit_id", "account_id", "month"}},
		},
		Settings: json.RawMessage(settingsSchema),
		Measures: []sdk.MeasureDef{{ID: measurePlayed, Label: sdk.Text{ZH: "视频点播次数", EN: "Video plays"},
			Counts: sdk.Text{ZH: "一次视频播放（观看者所在单位）", EN: "one play of a video (by the viewer's unit)"}}},
	}
}

// measurePlayed counts plays per unit and day: what the rollout's
// usage reports show as a unit's video views.
const measurePlayed = "vod.videos.played"

// Serve runs the module as a plugin process until the host stops it; the
// platform's hidden 'module serve vod' command calls it.
func Serve() {
	sdk.Serve(Manifest(), newModule())
}

// module serves the requests of every county that enables vod: one
// process is shared by all of them, so it keeps no state of its own
// between requests; everything lives in the host's records.
type module struct {
	now func() time.Time
	// log reaches the host's log: go-plugin reads a plugin's stderr and
	// keeps the lines written in hclog's JSON format at their level.
	log hclog.Logger
}

func newModule() *module {
	return &module{
		now: time.Now,
		log: hclog.New(&hclog.LoggerOptions{Name: "vod", Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
	}
}

// Handle serves one request in one county.
func (m *module) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	return m.serve(ctx, r, r.Host)
}

// serve takes the host's services apart from the request so that the
// tests can give it a fake of them: sdk.Host is a concrete type.
func (m *module) serve(ctx context.Context, r *sdk.Request, h services) (*sdk.Response, error) {
	t, bad := parseRoute(r.Method, r.Path)
	if bad != nil {
		return errorResponse(bad), nil
	}
	// A county's own settings do not reach a plugin: the SDK has no way
	// to read them. Every county has the schema's defaults meanwhile.
	c := &call{ctx: ctx, host: h, log: m.log, req: r, who: accessOf(r.Caller), now: m.now(), settings: defaultSettings()}
	status, body, err := c.dispatch(t)
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae), nil
	}
	if err != nil {
		return nil, fmt.Errorf("vod: %s %s: %w", r.Method, r.Path, err)
	}
	return sdk.JSONResponse(status, body)
}

// call is one request being served.
type call struct {
	ctx      context.Context
	host     services
	log      hclog.Logger
	req      *sdk.Request
	who      access
	now      time.Time
	settings settings
}

func (c *call) dispatch(t target) (int, any, error) {
	switch t.route {
	case routeCategories:
		return c.listCategories()
	case routeListVideos:
		return c.listVideos()
	case routeCreateVideo:
		return c.createVideo()
	case routeGetVideo:
		return c.getVideo(t.video)
	case routeUpdateVideo:
		return c.updateVideo(t.video)
	case routeDeleteVideo:
		return c.deleteVideo(t.video)
	case routeCompleteUpload:
		return c.completeUpload(t.video)
	case routePlayback:
		return c.playback(t.video)
	case routeRecordView:
		return c.recordView(t.video)
	case routeViewReport:
		return c.viewReport()
	}
	return 0, nil, fmt.Errorf("route %d has no handler", t.route)
}

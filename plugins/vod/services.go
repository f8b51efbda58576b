package vod

import (
	"context"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// services is what the module uses of the host: *sdk.Host for a real
// request (Handle passes it, so the compiler holds the SDK to it), a fake
// in memory in the tests.
type services interface {
	Put(ctx context.Context, collection, id string, version int64, doc any) (sdk.Record, error)
	Get(ctx context.Context, collection, id string) (sdk.Record, error)
	Delete(ctx context.Context, collection, id string, version int64) error
	Query(ctx context.Context, collection string, q sdk.Query) (sdk.Page, error)

	CreateUpload(ctx context.Context, name, contentType string, size int64) (sdk.Upload, error)
	File(ctx context.Context, id string) (sdk.File, error)
	DownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error)
	DeleteFile(ctx context.Context, id string) error

	Audit(ctx context.Context, e sdk.AuditEntry) error
	RecordMeasure(ctx context.Context, m sdk.Measure) (bool, error)
}

// audit records action on video id in the county's trail. The change is
// made by then and cannot be taken back, so a trail that refuses the
// entry fails the request no further: the host's log keeps what the
// trail missed.
func (c *call) audit(action, id string, before, after any) {
	e := sdk.AuditEntry{Action: action, ObjectType: "video", ObjectID: id, Before: before, After: after}
	if err := c.host.Audit(c.ctx, e); err != nil {
		c.log.Error("the county's audit trail refused an entry", "action", "vod."+action, "video", id,
			"account", c.who.account, "request", c.req.RequestID, "err", err)
	}
}

// countPlay records one play for the viewer's unit, under a key naming
// the play (the record's day, account and count), so that a retried
// recording counts it once. The play is counted by then, so a failure
// fails the request no further: the host's log keeps what the figures
// missed.
func (c *call) countPlay(view string, v viewDoc) {
	m := sdk.Measure{ID: measurePlayed, UnitID: v.UnitID, Day: v.Day, Key: view + "." + strconv.FormatInt(v.Plays, 10)}
	if _, err := c.host.RecordMeasure(c.ctx, m); err != nil {
		c.log.Error("a play was not counted in the measures", "video", v.VideoID, "unit", v.UnitID, "request", c.req.RequestID, "err", err)
	}
}

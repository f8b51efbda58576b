package disclosure

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The module's measures. The report counts are events, each recorded
// once per idempotency key derived from what it counts. The index
// figures are levels (sdk.MeasureDef.Level): a unit's figure of a day is
// the highest it reached that day (see level), and a day on which
// neither its items changed nor anyone read the index carries the last
// figure forward where the platform reads it.
const (
	measureRequired      = "disclosure.index.required"
	measurePublished     = "disclosure.index.published"
	measurePercent       = "disclosure.index.percent"
	measureCountyPercent = "disclosure.index.county_percent"

	measureNormative   = "disclosure.documents.normative"
	measureProcurement = "disclosure.documents.procurement"

	measureSubmitted = "disclosure.reports.submitted"
	measureRejected  = "disclosure.reports.rejected"
	// measureAdopted is followed by a use: leaders, bulletin, portal.
	measureAdopted = "disclosure.reports.adopted."
)

func measureDefs() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureRequired, Label: sdk.Text{ZH: "应公开事项数", EN: "Items to disclose"},
			Counts: sdk.Text{ZH: "单位当日应公开事项的最高数（基本信息六项及登记的文件）", EN: "the most items the unit had to disclose that day (six of basic information, and its registered documents)"}, Level: true},
		{ID: measurePublished, Label: sdk.Text{ZH: "已公开事项数", EN: "Items disclosed"},
			Counts: sdk.Text{ZH: "单位当日已公开事项的最高数", EN: "the most items the unit had disclosed that day"}, Level: true},
		{ID: measurePercent, Label: sdk.Text{ZH: "公开指数（%）", EN: "Disclosure index (%)"},
			Counts: sdk.Text{ZH: "单位当日公开指数的最高值，百分数取整", EN: "the unit's highest disclosure index that day, in whole percent"}, Level: true},
		{ID: measureCountyPercent, Label: sdk.Text{ZH: "全县公开指数（%）", EN: "County disclosure index (%)"},
			Counts: sdk.Text{ZH: "全县当日公开指数的最高值，百分数取整", EN: "the county's highest disclosure index that day, in whole percent"}, CountyWide: true, Level: true},
		{ID: measureNormative, Label: sdk.Text{ZH: "发布规范性文件数", EN: "Normative documents published"},
			Counts: sdk.Text{ZH: "一份公开发布的规范性文件", EN: "one normative document published"}},
		{ID: measureProcurement, Label: sdk.Text{ZH: "发布采购公告数", EN: "Procurement notices published"},
			Counts: sdk.Text{ZH: "一份公开发布的采购公告", EN: "one procurement notice published"}},
		{ID: measureSubmitted, Label: sdk.Text{ZH: "报送信息数", EN: "Information reported"},
			Counts: sdk.Text{ZH: "一条单位报送的信息", EN: "one item of work information a unit reported"}},
		{ID: measureAdopted + useLeaders, Label: sdk.Text{ZH: "领导参阅采用数", EN: "Adopted for leaders' reference"},
			Counts: sdk.Text{ZH: "一条采用为领导参阅的报送信息（报送单位）", EN: "one reported item adopted for the leaders' reference (by its unit)"}},
		{ID: measureAdopted + useBulletin, Label: sdk.Text{ZH: "内部简报采用数", EN: "Adopted for the bulletin"},
			Counts: sdk.Text{ZH: "一条采用为内部简报的报送信息（报送单位）", EN: "one reported item adopted for the internal bulletin (by its unit)"}},
		{ID: measureAdopted + usePortal, Label: sdk.Text{ZH: "门户网站采用数", EN: "Adopted for the portal"},
			Counts: sdk.Text{ZH: "一条采用并发布于门户网站的报送信息（报送单位）", EN: "one reported item adopted and published on the portal (by its unit)"}},
		{ID: measureRejected, Label: sdk.Text{ZH: "退回信息数", EN: "Information rejected"},
			Counts: sdk.Text{ZH: "一条被退回的报送信息（报送单位）", EN: "one reported item rejected (by its unit)"}},
	}
}

// count records one of measure for unit under key. The counted thing is
// done by then and a retry would not repeat it, so a failure fails the
// request no further: the host's log keeps what the figures missed.
func (c *call) count(measure string, unit int64, key string) {
	c.record(sdk.Measure{ID: measure, UnitID: unit, Day: c.today(), Key: key})
}

func (c *call) record(m sdk.Measure) {
	if _, err := c.host.RecordMeasure(c.ctx, m); err != nil {
		c.log.Error("a measure was not recorded", "measure", m.ID, "unit", m.UnitID, "key", m.Key, "request", c.req.RequestID, "err", err)
	}
}

// levels are the highest figures of a unit (0: the county) recorded on
// a day, by measure.
type levels struct {
	UnitID  int64            `json:"unit_id"`
	Day     string           `json:"day"`
	Figures map[string]int64 `json:"figures"`
}

func levelID(unit int64, day string) string { return fmt.Sprintf("%d.%s", unit, day) }

// level raises the day's figures of unit to figures where they are
// higher. Measures add, so a level is recorded as the rise above the
// day's highest so far: the figure of a unit and day is then the highest
// the level reached that day. The rise is claimed in the levels record
// (at its version) before it is counted, so two requests never count the
// same rise, and its key names the range it covers, so a retry of the
// count adds nothing. known is the day's record if the caller read it
// (nil: read it here).
func (c *call) level(unit int64, figures map[string]int64, known *sdk.Record) {
	day := c.today()
	for attempt := 0; attempt < 3; attempt++ {
		r, l, err := c.readLevels(unit, day, known)
		known = nil
		if err != nil {
			c.log.Error("the day's index figures were not read", "unit", unit, "request", c.req.RequestID, "err", err)
			return
		}
		l.UnitID, l.Day = unit, day
		var rises []sdk.Measure
		for id, v := range figures {
			if before := l.Figures[id]; v > before {
				rises = append(rises, sdk.Measure{ID: id, UnitID: unit, Day: day, Delta: v - before, Key: fmt.Sprintf("u%d:%s:%d-%d", unit, day, before+1, v)})
				l.Figures[id] = v
			}
		}
		if len(rises) == 0 {
			return
		}
		_, err = c.host.Put(c.ctx, collLevels, levelID(unit, day), r.Version, l)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			c.log.Error("the day's index figures were not claimed", "unit", unit, "request", c.req.RequestID, "err", err)
			return
		}
		for _, m := range rises {
			c.record(m)
		}
		return
	}
	c.log.Error("the day's index figures kept changing meanwhile", "unit", unit, "request", c.req.RequestID)
}

func (c *call) readLevels(unit int64, day string, known *sdk.Record) (sdk.Record, levels, error) {
	var r sdk.Record
	if known != nil {
		r = *known
	} else {
		var err error
		r, err = c.host.Get(c.ctx, collLevels, levelID(unit, day))
		if errors.Is(err, sdk.ErrNotFound) {
			return sdk.Record{}, levels{UnitID: unit, Day: day, Figures: map[string]int64{}}, nil
		}
		if err != nil {
			return sdk.Record{}, levels{}, err
		}
	}
	var l levels
	if err := json.Unmarshal(r.Document, &l); err != nil {
		return sdk.Record{}, levels{}, fmt.Errorf("read levels %s: %w", r.ID, err)
	}
	if l.Figures == nil {
		l.Figures = map[string]int64{}
	}
	return r, l, nil
}

package convenience

import (
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The module's measures, per unit (the unit responsible) and day in
// China. Each is recorded once per key derived from what it counts.
const (
	measureReceived         = "convenience.messages.received"
	measureAnswered         = "convenience.messages.answered"
	measureAnsweredLate     = "convenience.messages.answered_late"
	measureReopened         = "convenience.messages.reopened"
	measureRatedSatisfied   = "convenience.ratings.satisfied"
	measureRatedBasically   = "convenience.ratings.basically_satisfied"
	measureRatedUnsatisfied = "convenience.ratings.unsatisfied"
)

func measures() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureReceived, Label: sdk.Text{ZH: "受理留言数", EN: "Messages received"},
			Counts: sdk.Text{ZH: "一条转办到本单位的群众留言", EN: "one citizen's message routed to the unit"}},
		{ID: measureAnswered, Label: sdk.Text{ZH: "答复留言数", EN: "Messages answered"},
			Counts: sdk.Text{ZH: "一条审核办结的书面答复", EN: "one written reply accepted"}},
		{ID: measureAnsweredLate, Label: sdk.Text{ZH: "超期答复数", EN: "Messages answered late"},
			Counts: sdk.Text{ZH: "一条超过答复时限才答复的留言", EN: "one message replied to after its time limit"}},
		{ID: measureRatedSatisfied, Label: sdk.Text{ZH: "满意评价数", EN: "Ratings: satisfied"},
			Counts: sdk.Text{ZH: "一次“满意”评价", EN: "one rating of satisfied"}},
		{ID: measureRatedBasically, Label: sdk.Text{ZH: "基本满意评价数", EN: "Ratings: basically satisfied"},
			Counts: sdk.Text{ZH: "一次“基本满意”评价", EN: "one rating of basically satisfied"}},
		{ID: measureRatedUnsatisfied, Label: sdk.Text{ZH: "不满意评价数", EN: "Ratings: unsatisfied"},
			Counts: sdk.Text{ZH: "一次“不满意”评价", EN: "one rating of unsatisfied"}},
		{ID: measureReopened, Label: sdk.Text{ZH: "重新督办留言数", EN: "Messages reopened"},
			Counts: sdk.Text{ZH: "一条因不满意评价重新进入督办的留言", EN: "one message reopened for oversight by an unsatisfied rating"}},
	}
}

// china is the zone the measures' days and the oversight's periods are
// counted in.
var china = time.FixedZone("CST", 8*60*60)

// monthLayout is a month's, as the messages index it: 2026-06.
const monthLayout = "2006-01"

// count records one of measure for unit under key. The counted thing is
// done by then and a retry would not repeat it, so a failure fails the
// request no further: the host's log keeps what the figures missed.
func (c *call) count(measure string, unit int64, key string) {
	if _, err := c.host.RecordMeasure(c.ctx, sdk.Measure{ID: measure, UnitID: unit, Day: c.now.In(china).Format("2006-01-02"), Key: key}); err != nil {
		c.log.Error("a measure was not recorded", "measure", measure, "unit", unit, "key", key, "request", c.req.RequestID, "err", err)
	}
}

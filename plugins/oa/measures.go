package oa

import "github.com/countycloud/countycloud/plugins/sdk"

// The module's measures of documents, per unit: the rollout's figures
// (DOMAIN.md: documents sent and received through the whole flow in the
// system test, the share circulated online). Each is recorded once per
// idempotency key derived from what it counts.
const (
	measureDrafted  = "oa.documents.drafted"
	measureSent     = "oa.documents.sent"
	measureReceived = "oa.documents.received"
	measureSealed   = "oa.documents.sealed"
	measurePaper    = "oa.documents.paper"
	// measureTemplates is a level: 1 for a unit whose document template
	// (红头) is set, which the rollout's preparation checks.
	measureTemplates = "oa.templates.configured"
)

func documentMeasures() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureDrafted, Label: sdk.Text{ZH: "拟稿数", EN: "Documents drafted"},
			Counts: sdk.Text{ZH: "一份拟稿的公文（发文单位）", EN: "one document drafted (by its issuing unit)"}},
		{ID: measureSent, Label: sdk.Text{ZH: "发文数", EN: "Documents sent"},
			Counts: sdk.Text{ZH: "一份办完发文流程至归档的公文（发文单位）", EN: "one document whose sending flow ran to its archiving (by its issuing unit)"}},
		{ID: measureReceived, Label: sdk.Text{ZH: "收文数", EN: "Documents received"},
			Counts: sdk.Text{ZH: "一份办完收文流程至归档的公文（收文单位）", EN: "one document whose receiving flow ran to its archiving (by the receiving unit)"}},
		{ID: measureSealed, Label: sdk.Text{ZH: "用印数", EN: "Documents sealed"},
			Counts: sdk.Text{ZH: "一份加盖电子印章的公文（发文单位）", EN: "one document sealed electronically (by its issuing unit)"}},
		{ID: measurePaper, Label: sdk.Text{ZH: "纸质发文数", EN: "Paper copies sent"},
			Counts: sdk.Text{ZH: "一份同时印发纸质件的公文（双轨制，发文单位）", EN: "one document distributed on paper too (dual track, by its issuing unit)"}},
		{ID: measureTemplates, Label: sdk.Text{ZH: "已配置公文模板", EN: "Document template set"},
			Counts: sdk.Text{ZH: "单位的公文模板（红头）已配置为 1", EN: "1 once the unit's document template (red header) is set"}, Level: true},
	}
}

// count records one of measure for unit under key. The counted thing is
// done by then and a retry would not repeat it, so a failure fails the
// request no further: the host's log keeps what the figures missed.
func (c *call) count(measure string, unit int64, key string) {
	if _, err := c.host.RecordMeasure(c.ctx, sdk.Measure{ID: measure, UnitID: unit, Day: c.now.In(china).Format("2006-01-02"), Key: key}); err != nil {
		c.log.Error("a measure was not recorded", "measure", measure, "unit", unit, "key", key, "request", c.req.RequestID, "err", err)
	}
}

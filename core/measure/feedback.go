package measure

// The trial feedback's measures (tenants/rollout), per the unit that
// reported the item, counted in the transaction of the step.
const (
	// FeedbackReported counts the problems units reported with modules.
	FeedbackReported = "platform.feedback.reported"
	// FeedbackAnswered counts the vendors' answers.
	FeedbackAnswered = "platform.feedback.answered"
	// FeedbackOverdue counts the steps that ran past their time limit,
	// once each: when the sweep finds one red, or when it is taken late.
	FeedbackOverdue = "platform.feedback.overdue"
)

func feedbackMeasures() []Definition {
	text := func(zh, en string) Label { return Label{ZH: zh, EN: en} }
	return []Definition{
		{ID: FeedbackReported, Label: text("试运行问题反馈数", "Trial feedback reported"), Counts: text("单位反馈的一个模块问题", "one problem a unit reported with a module")},
		{ID: FeedbackAnswered, Label: text("厂商答复数", "Vendor answers"), Counts: text("厂商对一个问题的一次答复", "one answer of a vendor to a problem")},
		{ID: FeedbackOverdue, Label: text("反馈超时环节数", "Feedback steps overdue"),
			Counts: text("问题反馈的一个超过办理时限的环节", "one step of a feedback item that ran past its time limit")},
	}
}

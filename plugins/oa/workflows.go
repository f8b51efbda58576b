package oa

import "encoding/json"

// The module's workflows, by local code: the host installs them in a
// county as oa.sending and oa.receiving, where the county may add steps,
// shorten limits and remove the steps that are not mandatory. The steps
// the module does work at (登记 numbers the document, 用印 seals it, 分发
// distributes it, 签收登记 signs it in) are mandatory, and their ids and
// actions are what the module recognises, whatever a county adds.
const (
	wfSending   = "sending"
	wfReceiving = "receiving"
)

// Steps and actions of the sending flow the module does work at.
const (
	stepDraft      = "draft"
	stepRegister   = "register"
	stepSeal       = "seal"
	stepDistribute = "distribute"

	actRegister   = "register"
	actSeal       = "seal"
	actDistribute = "distribute"
)

// Steps and actions of the receiving flow the module does work at.
const (
	stepSignIn = "sign_in"
	actSignIn  = "sign_in"
)

// statusDone is a document's or a receipt's status once its flow ended.
const statusDone = "done"

// sendingFlow is 发文办理: 拟稿 (the unit's clerk) → 核稿 (its business
// admin, 办公室) → 审核 and 签发 (its leader) → 登记, 排版, 用印, 分发
// (its clerk, 收发员) → 归档. Every assignee is relative to the subject
// unit, the issuing unit, so one definition serves every unit. 核稿, 审核
// and 签发 may send the draft back.
const sendingFlow = `{
  "code": "oa.sending",
  "name": "发文办理",
  "version": 1,
  "start": "draft",
  "time_limit": {"working_days": 20},
  "localization": {"add_steps": true, "shorten_limits": true, "remove_steps": true},
  "steps": [
    {"id": "draft", "name": "拟稿", "assignee": {"role": "clerk", "relative": "subject_unit"}, "mandatory": true,
     "actions": [{"name": "submit", "label": "送核稿", "to": "check"}]},
    {"id": "check", "name": "核稿", "assignee": {"role": "business_admin", "relative": "subject_unit"}, "time_limit": {"working_days": 2},
     "actions": [{"name": "pass", "label": "核稿通过", "to": "review"}, {"name": "send_back", "label": "退回", "to": "draft", "return": true}]},
    {"id": "review", "name": "审核", "assignee": {"relative": "subject_unit_leader"}, "time_limit": {"working_days": 2},
     "actions": [{"name": "pass", "label": "审核通过", "to": "sign"}, {"name": "send_back", "label": "退回", "to": "draft", "return": true}]},
    {"id": "sign", "name": "签发", "assignee": {"relative": "subject_unit_leader"}, "time_limit": {"working_days": 2}, "mandatory": true,
     "actions": [{"name": "sign", "label": "签发", "to": "register"}, {"name": "send_back", "label": "退回", "to": "draft", "return": true}]},
    {"id": "register", "name": "登记", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 1}, "mandatory": true,
     "actions": [{"name": "register", "label": "登记编号", "to": "typeset"}]},
    {"id": "typeset", "name": "排版", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 1},
     "actions": [{"name": "typeset", "label": "排版完成", "to": "seal"}]},
    {"id": "seal", "name": "用印", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 1}, "mandatory": true,
     "actions": [{"name": "seal", "label": "用印", "to": "distribute"}]},
    {"id": "distribute", "name": "分发", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 1}, "mandatory": true,
     "actions": [{"name": "distribute", "label": "分发", "to": "archive", "distribute": "receiving"}]},
    {"id": "archive", "name": "归档", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 5},
     "actions": [{"name": "archive", "label": "归档", "to": "end"}]}
  ]
}`

// receivingFlow is 收文办理, one instance per recipient unit, started by
// the sending flow's 分发: 签收登记 (the unit's clerk) → 拟办 (its
// business admin, 办公室) → 批办 (its leader) → 办理 (its business admin)
// → 传阅 (its leader) → 归档 (its clerk).
const receivingFlow = `{
  "code": "oa.receiving",
  "name": "收文办理",
  "version": 1,
  "start": "sign_in",
  "time_limit": {"working_days": 15},
  "localization": {"add_steps": true, "shorten_limits": true, "remove_steps": true},
  "steps": [
    {"id": "sign_in", "name": "签收登记", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 1}, "mandatory": true,
     "actions": [{"name": "sign_in", "label": "签收", "to": "propose"}]},
    {"id": "propose", "name": "拟办", "assignee": {"role": "business_admin", "relative": "subject_unit"}, "time_limit": {"working_days": 1},
     "actions": [{"name": "propose", "label": "提出拟办意见", "to": "instruct"}]},
    {"id": "instruct", "name": "批办", "assignee": {"relative": "subject_unit_leader"}, "time_limit": {"working_days": 2},
     "actions": [{"name": "instruct", "label": "批办", "to": "handle"}]},
    {"id": "handle", "name": "办理", "assignee": {"role": "business_admin", "relative": "subject_unit"}, "time_limit": {"working_days": 5},
     "actions": [{"name": "done", "label": "办结", "to": "circulate"}, {"name": "send_back", "label": "退回批办", "to": "instruct", "return": true}]},
    {"id": "circulate", "name": "传阅", "assignee": {"relative": "subject_unit_leader"}, "time_limit": {"working_days": 3},
     "actions": [{"name": "read", "label": "阅毕", "to": "archive"}]},
    {"id": "archive", "name": "归档", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 2},
     "actions": [{"name": "archive", "label": "归档", "to": "end"}]}
  ]
}`

func workflows() map[string]json.RawMessage {
	return map[string]json.RawMessage{wfSending: json.RawMessage(sendingFlow), wfReceiving: json.RawMessage(receivingFlow)}
}

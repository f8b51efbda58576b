package convenience

// wfMessage is the local code of the workflow a message is handled in:
// installed in a county as convenience.message, where the county may add
// steps and shorten limits. Its steps reply and review, and their
// actions, are what the module acts on.
const wfMessage = "message"

const (
	stepReply  = "reply"
	stepReview = "review"

	actReply  = "reply"
	actAccept = "accept"
	actReturn = "return"
)

// messageFlow is 留言办理: started for the unit responsible (the subject
// unit) by the IT office's routing, or by the citizen's submission from
// the IT office (the initiator unit) where the county's rule routes it;
// the unit's clerks reply in writing within five working days (书面答复,
// supervised: yellow at the county's warning share, red and escalated to
// the supervising unit once overdue); the IT office's clerks (the initiator's unit) accept the reply or return it
// for rework, which opens a new reply task with its own five days.
const messageFlow = `{
  "code": "convenience.message",
  "name": "留言办理",
  "version": 1,
  "start": "reply",
  "localization": {"add_steps": true, "shorten_limits": true},
  "steps": [
    {"id": "reply", "name": "书面答复", "assignee": {"role": "clerk", "relative": "subject_unit"}, "time_limit": {"working_days": 5}, "mandatory": true,
     "actions": [{"name": "reply", "label": "答复", "to": "review"}]},
    {"id": "review", "name": "审核答复", "assignee": {"role": "clerk", "relative": "initiator_unit"}, "time_limit": {"working_days": 2}, "mandatory": true,
     "actions": [{"name": "accept", "label": "办结", "to": "end"}, {"name": "return", "label": "退回重办", "to": "reply", "return": true}]}
  ]
}`

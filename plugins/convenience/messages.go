package convenience

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Statuses of a message.
const (
	// statusNew: left by the citizen, waiting for the IT office to route.
	statusNew = "new"
	// statusRouted: with the unit responsible, waiting for its reply.
	statusRouted = "routed"
	// statusReplied: replied, waiting for the IT office's review.
	statusReplied = "replied"
	// statusAnswered: the reply accepted; the citizen may rate it.
	statusAnswered = "answered"
)

// message is a citizen's message and what became of it.
type message struct {
	// Number is its receipt's number, which the citizen quotes.
	Number      string    `json:"number"`
	Category    string    `json:"category"`
	Content     string    `json:"content"`
	Contact     contact   `json:"contact"`
	Publishable bool      `json:"publishable"`
	Status      string    `json:"status"`
	SubmittedAt time.Time `json:"submitted_at"`
	// SubmittedMonth and RoutedMonth are the months in China (2026-06)
	// it was left and routed in, indexed: the oversight report reads a
	// period's months alone.
	SubmittedMonth string `json:"submitted_month,omitempty"`
	RoutedMonth    string `json:"routed_month,omitempty"`

	// UnitID is the unit responsible once routed, InstanceID the
	// workflow instance it is handled in.
	UnitID     int64      `json:"unit_id,omitempty"`
	InstanceID int64      `json:"instance_id,omitempty"`
	RoutedAt   *time.Time `json:"routed_at,omitempty"`
	RoutedBy   string     `json:"routed_by,omitempty"`
	// DueAt is the deadline of the reply task open or last open.
	DueAt *time.Time `json:"due_at,omitempty"`

	Reply     string     `json:"reply,omitempty"`
	RepliedAt *time.Time `json:"replied_at,omitempty"`
	RepliedBy string     `json:"replied_by,omitempty"`
	// Late: a reply was written after its task's deadline (the task was
	// red, or its deadline had passed); it stays so once set.
	Late    bool       `json:"late"`
	Returns []returned `json:"returns,omitempty"`

	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	PublishedID string     `json:"published_id,omitempty"`

	Rating  string     `json:"rating,omitempty"`
	RatedAt *time.Time `json:"rated_at,omitempty"`
	// Reopened: the citizen was not satisfied, and the oversight view
	// lists the message again.
	Reopened bool `json:"reopened"`
}

// returned is a reply sent back for rework.
type returned struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	Reply  string    `json:"reply"`
}

// published is a reply listed on the county's public pages: the message
// and the reply with personal data masked, and nothing of the contact.
type published struct {
	Category    string    `json:"category"`
	Content     string    `json:"content"`
	Reply       string    `json:"reply"`
	UnitID      int64     `json:"unit_id"`
	UnitName    string    `json:"unit_name"`
	SubmittedAt time.Time `json:"submitted_at"`
	AnsweredAt  time.Time `json:"answered_at"`
}

func messageRoutes() []route {
	return []route{
		{"GET", "/messages", listMessages},
		{"GET", "/messages/{id}", showMessage},
		{"POST", "/messages/route-by-rule", routeByRule},
		{"POST", "/messages/{id}/route", routeMessage},
		{"POST", "/messages/{id}/reply", replyMessage},
		{"POST", "/messages/{id}/review", reviewMessage},
	}
}

// loadMessage reads message id; a malformed id is not found.
func (c *call) loadMessage(id string) (sdk.Record, message, error) {
	if !sdk.ValidNewestFirstID(id) {
		return sdk.Record{}, message{}, newError(http.StatusNotFound, codeMessageNotFound, "no message %s", id)
	}
	rec, err := c.host.Get(c.ctx, collMessages, id)
	if errors.Is(err, sdk.ErrNotFound) {
		return sdk.Record{}, message{}, newError(http.StatusNotFound, codeMessageNotFound, "no message %s", id)
	}
	if err != nil {
		return sdk.Record{}, message{}, fromHost(err, "message "+id)
	}
	var m message
	if err := json.Unmarshal(rec.Document, &m); err != nil {
		return sdk.Record{}, message{}, fmt.Errorf("message %s: %w", id, err)
	}
	return rec, m, nil
}

// visible reads message id for a caller who may see it: the IT office
// and the letters-and-visits bureau every one, a unit those routed to
// it. To anyone else it is not found, as one that does not exist.
func (c *call) visible(id string) (sdk.Record, message, error) {
	if !c.who.staff() && !c.who.operator {
		return sdk.Record{}, message{}, forbidden("staff of the county read messages")
	}
	rec, m, err := c.loadMessage(id)
	if err != nil {
		return rec, m, err
	}
	if !c.who.readsAll() && !c.who.operator && (m.UnitID == 0 || m.UnitID != c.who.unit) {
		return sdk.Record{}, message{}, newError(http.StatusNotFound, codeMessageNotFound, "no message %s", id)
	}
	return rec, m, nil
}

// update changes message id by change, read afresh, and writes it at the
// version read; on a conflict it reads and changes it again, so that a
// change decided on what it read is never written over another.
func (c *call) update(id string, change func(m *message) error) (sdk.Record, message, error) {
	for attempt := 0; ; attempt++ {
		rec, m, err := c.loadMessage(id)
		if err != nil {
			return rec, m, err
		}
		if err := change(&m); err != nil {
			return rec, m, err
		}
		saved, err := c.host.Put(c.ctx, collMessages, id, rec.Version, m)
		if errors.Is(err, sdk.ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return rec, m, fromHost(err, "message "+id)
		}
		return saved, m, nil
	}
}

func illegal(m message, what string) *apiError {
	return newError(http.StatusConflict, codeIllegalTransition, "the message is %s; it cannot be %s", m.Status, what)
}

// listMessages: GET /messages?status=&unit_id=&number=&reopened=&after=.
// The IT office and
// the letters-and-visits bureau list every unit's; other staff their
// own unit's only.
func listMessages(c *call, _ params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "status", "unit_id", "number", "reopened", "after", "limit")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() && !c.who.operator {
		return 0, nil, forbidden("staff of the county list messages")
	}
	where := map[string]string{}
	if s, ok := q["status"]; ok {
		switch s {
		case statusNew, statusRouted, statusReplied, statusAnswered:
			where["status"] = s
		default:
			return 0, nil, badRequest(codeInvalidQuery, "status is new, routed, replied or answered, not %q", s)
		}
	}
	if n, ok := q["number"]; ok {
		where["number"] = n
	}
	if r, ok := q["reopened"]; ok {
		if r != "true" && r != "false" {
			return 0, nil, badRequest(codeInvalidQuery, "reopened is true or false, not %q", r)
		}
		where["reopened"] = r
	}
	if u, ok := q["unit_id"]; ok {
		n, err := strconv.ParseInt(u, 10, 64)
		if err != nil || n <= 0 || strconv.FormatInt(n, 10) != u {
			return 0, nil, badRequest(codeInvalidQuery, "unit_id %q is not a positive whole number", u)
		}
		where["unit_id"] = u
	}
	if !c.who.readsAll() && !c.who.operator {
		own := strconv.FormatInt(c.who.unit, 10)
		if u, ok := where["unit_id"]; ok && u != own {
			return 0, nil, forbidden("a unit lists its own messages; the IT office and the letters-and-visits bureau list every unit's")
		}
		where["unit_id"] = own
	}
	limit, err := pageLimit(q["limit"], 50, 200)
	if err != nil {
		return 0, nil, err
	}
	after := q["after"]
	if after != "" && !sdk.ValidNewestFirstID(after) {
		return 0, nil, badRequest(codeInvalidQuery, "after %q is not a message's id", after)
	}
	page, err := c.host.Query(c.ctx, collMessages, sdk.Query{Where: where, Limit: limit, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the messages")
	}
	type item struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
		message
	}
	out := make([]item, 0, len(page.Records))
	for _, r := range page.Records {
		var m message
		if err := json.Unmarshal(r.Document, &m); err != nil {
			return 0, nil, fmt.Errorf("message %s: %w", r.ID, err)
		}
		out = append(out, item{r.ID, r.Version, m})
	}
	return http.StatusOK, map[string]any{"messages": out, "next": page.Next}, nil
}

func pageLimit(s string, def, most int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most || strconv.Itoa(n) != s {
		return 0, badRequest(codeInvalidQuery, "limit is 1 to %d, not %q", most, s)
	}
	return n, nil
}

// showMessage: GET /messages/{id}, with its open tasks and their
// supervision colour.
func showMessage(c *call, p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	rec, m, err := c.visible(p["id"])
	if err != nil {
		return 0, nil, err
	}
	tasks := []sdk.Task{}
	if m.InstanceID > 0 {
		tasks, err = c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, InstanceID: m.InstanceID, Status: "open"})
		if err != nil {
			return 0, nil, fromHost(err, "the message's tasks")
		}
	}
	return http.StatusOK, map[string]any{"id": rec.ID, "version": rec.Version, "message": m, "tasks": tasks}, nil
}

// routeInput is the body of POST /messages/{id}/route: the unit, or none
// for the county's rule for the message's category.
type routeInput struct {
	UnitID int64 `json:"unit_id"`
}

// routeMessage: the IT office sends a new message to the unit it names,
// or by the county's rule for its category.
func routeMessage(c *call, p params) (int, any, error) {
	if !c.who.office || !c.who.staff() {
		return 0, nil, forbidden("the IT office routes messages (it_office_unit_id in the module's settings)")
	}
	var in routeInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if in.UnitID < 0 {
		return 0, nil, badRequest(codeUnknownUnit, "unit_id %d is not a unit", in.UnitID)
	}
	saved, m, out, err := c.route(p["id"], in.UnitID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": p["id"], "version": saved.Version, "message": m, "outcome": out}, nil
}

// maxRoutedByRule bounds the messages one POST /messages/route-by-rule
// routes, each a workflow start: the office calls again for the rest.
const maxRoutedByRule = 50

// routeByRule: the IT office routes every new message whose category the
// county's settings route to a unit, oldest first, up to 50 a call; a
// message without a rule, or one refused, stays new and is listed with
// why.
func routeByRule(c *call, _ params) (int, any, error) {
	if !c.who.office || !c.who.staff() {
		return 0, nil, forbidden("the IT office routes messages (it_office_unit_id in the module's settings)")
	}
	if len(c.req.Body) > 0 {
		if err := decodeBody(c.req.Body, &struct{}{}); err != nil {
			return 0, nil, err
		}
	}
	// The oldest wait longest, so they go first: up to a call's worth of
	// each category the settings route, read alone.
	var pending []string
	var more bool
	for _, category := range slices.Sorted(maps.Keys(c.settings.Routes)) {
		ids, rest, err := c.oldestNew(category, maxRoutedByRule)
		if err != nil {
			return 0, nil, err
		}
		pending, more = append(pending, ids...), more || rest
	}
	// Ids count down from the time a message was left: the oldest is
	// the greatest.
	slices.Sort(pending)
	slices.Reverse(pending)
	type routed struct {
		ID     string `json:"id"`
		UnitID int64  `json:"unit_id"`
	}
	type left struct {
		ID      string `json:"id"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	out := struct {
		Routed []routed `json:"routed"`
		Left   []left   `json:"left"`
		More   bool     `json:"more"`
	}{Routed: []routed{}, Left: []left{}, More: more}
	for _, id := range pending {
		if len(out.Routed) == maxRoutedByRule {
			out.More = true
			break
		}
		_, m, _, err := c.route(id, 0)
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			out.Left = append(out.Left, left{ID: id, Code: ae.code, Message: ae.message})
		case err != nil:
			return 0, nil, err
		default:
			out.Routed = append(out.Routed, routed{ID: id, UnitID: m.UnitID})
		}
	}
	return http.StatusOK, out, nil
}

// leftBefore is the id after which the host's list of messages, in the
// order of ids, holds those left before t: a message's id begins with
// the milliseconds from the time it was left to the end of the ids'
// time (sdk.NewestFirstID), so an earlier one's is greater than every
// id of t's millisecond.
func leftBefore(t time.Time) string {
	return sdk.NewestFirstID(t)[:10] + "zzzzzzzzzzzzzzzz"
}

// oldestNew finds the ids of up to n new messages of category, the
// oldest first, and whether more wait, reading those messages and few
// others: the host lists them newest first, so a binary search over the
// minutes since 1970, each step a query of one record, finds the minute
// of the oldest, and windows from it, each twice the last, read the
// messages after it until more than n are found.
func (c *call) oldestNew(category string, n int) ([]string, bool, error) {
	where := map[string]string{"status": statusNew, "category": category}
	waitsBefore := func(t time.Time) (bool, error) {
		page, err := c.host.Query(c.ctx, collMessages, sdk.Query{Where: where, Limit: 1, After: leftBefore(t)})
		if err != nil {
			return false, fromHost(err, "the new messages")
		}
		return len(page.Records) > 0, nil
	}
	// None waits from before lo, one from before hi.
	lo, hi := time.Unix(0, 0), c.now.Add(time.Minute)
	if found, err := waitsBefore(hi); err != nil || !found {
		return nil, false, err
	}
	for hi.Sub(lo) > time.Minute {
		mid := lo.Add(hi.Sub(lo) / 2)
		found, err := waitsBefore(mid)
		if err != nil {
			return nil, false, err
		}
		if found {
			hi = mid
		} else {
			lo = mid
		}
	}
	var ids []string
	for from, width := lo, time.Minute; len(ids) <= n && from.Before(c.now.Add(time.Minute)); from, width = from.Add(width), 2*width {
		window, err := c.newBetween(where, from, from.Add(width))
		if err != nil {
			return nil, false, err
		}
		ids = append(ids, window...)
	}
	if len(ids) > n {
		return ids[:n], true, nil
	}
	return ids, false, nil
}

// newBetween are the ids of the messages where matches left from from
// until to, the oldest first.
func (c *call) newBetween(where map[string]string, from, to time.Time) ([]string, error) {
	var ids []string
	stop := leftBefore(from)
	for after := leftBefore(to); ; {
		page, err := c.host.Query(c.ctx, collMessages, sdk.Query{Where: where, Limit: 200, After: after})
		if err != nil {
			return nil, fromHost(err, "the new messages")
		}
		for _, r := range page.Records {
			if r.ID > stop {
				slices.Reverse(ids)
				return ids, nil
			}
			ids = append(ids, r.ID)
		}
		if page.Next == "" {
			slices.Reverse(ids)
			return ids, nil
		}
		after = page.Next
	}
}

// route sends new message id to unit, or by the county's rule for its
// category if unit is 0, starting its workflow there. The message is
// claimed first, so that two routings never start two instances, and
// given back if the start is refused. A message claimed by a routing the
// host failed in before its instance was written (routed, without an
// instance) is routed on by the same account's retry, to the unit
// claimed: the instance the failed routing started, if it did, is
// found by its reference and kept, else one is started.
func (c *call) route(id string, unit int64) (sdk.Record, message, sdk.Outcome, error) {
	byRule := unit == 0
	resumed := false
	claimed, m, err := c.update(id, func(m *message) error {
		resumed = m.Status == statusRouted && m.InstanceID == 0 && m.RoutedBy == c.req.Caller.Login && (byRule || unit == m.UnitID)
		switch {
		case resumed:
			unit = m.UnitID
			return nil
		case m.Status != statusNew:
			return illegal(*m, "routed again")
		}
		if byRule {
			unit = c.settings.Routes[m.Category]
			if unit == 0 {
				return newError(http.StatusConflict, codeNoRouteRule, "the county's settings route no category %s to a unit; name unit_id", m.Category)
			}
		}
		now := c.now.UTC()
		m.Status, m.UnitID, m.RoutedAt, m.RoutedBy, m.RoutedMonth = statusRouted, unit, &now, c.req.Caller.Login, now.In(china).Format(monthLayout)
		return nil
	})
	if err != nil {
		return sdk.Record{}, message{}, sdk.Outcome{}, err
	}
	giveBack := func(cause error) (sdk.Record, message, sdk.Outcome, error) {
		_, _, undo := c.update(id, func(m *message) error {
			m.Status, m.UnitID, m.RoutedAt, m.RoutedBy, m.RoutedMonth = statusNew, 0, nil, "", ""
			return nil
		})
		if undo != nil {
			return sdk.Record{}, message{}, sdk.Outcome{}, fmt.Errorf("give message %s back to the IT office: %w (after %w)", id, undo, cause)
		}
		return sdk.Record{}, message{}, sdk.Outcome{}, cause
	}
	var out sdk.Outcome
	if resumed {
		if out, err = c.startedFor(id, unit); err != nil {
			return sdk.Record{}, message{}, sdk.Outcome{}, err
		}
	}
	if out.Instance.ID == 0 {
		units, err := c.host.Units(c.ctx, unit)
		if err != nil {
			return giveBack(fromHost(err, "the unit"))
		}
		if len(units) != 1 {
			return giveBack(badRequest(codeUnknownUnit, "the county has no unit %d", unit))
		}
		out, err = c.host.StartWorkflowFor(c.ctx, wfMessage, sdk.StartOptions{Title: title(m), Reference: id, SubjectUnitID: unit})
		if errors.Is(err, sdk.ErrInvalid) {
			return giveBack(badRequest(codeUnknownUnit, "unit %d cannot take the message: %v", unit, err))
		}
		if err != nil {
			return giveBack(fromHost(err, "the message's workflow"))
		}
	}
	due := replyDue(out.Opened)
	saved, m, err := c.update(id, func(m *message) error {
		m.InstanceID, m.DueAt = out.Instance.ID, due
		return nil
	})
	if err != nil {
		return sdk.Record{}, message{}, sdk.Outcome{}, err
	}
	c.count(measureReceived, unit, "received:"+id)
	before := map[string]any{"status": statusNew, "version": claimed.Version - 1}
	if resumed {
		before = map[string]any{"status": statusRouted, "unit_id": unit, "version": claimed.Version - 1}
	}
	c.audit("message.route", id, before, map[string]any{"unit_id": unit, "instance_id": out.Instance.ID, "rule": byRule})
	return saved, m, out, nil
}

// startedFor finds the instance a failed routing of message id started
// for unit, by its reference, with its open tasks; none (a zero
// Outcome) if the routing failed before it started one.
func (c *call) startedFor(id string, unit int64) (sdk.Outcome, error) {
	const page = 500
	for after := int64(0); ; {
		list, err := c.host.ListWorkflowInstances(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, UnitID: unit, InitiatorUnitID: c.who.unit, After: after, Limit: page})
		if err != nil {
			return sdk.Outcome{}, fromHost(err, "the message's workflow")
		}
		for _, in := range list {
			if in.Reference == nil || *in.Reference != id {
				continue
			}
			open, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, InstanceID: in.ID, Status: "open"})
			if err != nil {
				return sdk.Outcome{}, fromHost(err, "the message's tasks")
			}
			return sdk.Outcome{Instance: in, Opened: open}, nil
		}
		if len(list) < page {
			return sdk.Outcome{}, nil
		}
		after = list[len(list)-1].ID
	}
}

// title is a message's title in the unit's task list: its category and
// its first words, masked (task lists are read widely).
func title(m message) string {
	text := []rune(maskFor(m.Content, m.Contact))
	if len(text) > 40 {
		text = append(text[:40], '…')
	}
	return "【" + m.Category + "】" + string(text)
}

// replyDue is the deadline of the reply task among opened.
func replyDue(opened []sdk.Task) *time.Time {
	for _, t := range opened {
		if t.Step == stepReply {
			return t.DueAt
		}
	}
	return nil
}

// openTask finds the message's open task at step.
func (c *call) openTask(m message, step string) (sdk.Task, error) {
	if m.InstanceID == 0 {
		return sdk.Task{}, newError(http.StatusConflict, codeIllegalTransition, "the message is %s and has no task", m.Status)
	}
	open, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, InstanceID: m.InstanceID, Status: "open"})
	if err != nil {
		return sdk.Task{}, fromHost(err, "the message's tasks")
	}
	for _, t := range open {
		if t.Step == step {
			return t, nil
		}
	}
	return sdk.Task{}, newError(http.StatusConflict, codeIllegalTransition, "the message is %s; no %s task is open", m.Status, step)
}

// mayAct refuses the caller a task the engine would not let them act
// on, before the module changes anything of its own for the action (a
// reply's draft, a published reply): a refused action leaves nothing.
func (c *call) mayAct(t sdk.Task) error {
	if !t.MayAct(c.req.Caller) {
		return newError(http.StatusForbidden, codeNotYourTask, "the %s task waits for someone else", t.StepName)
	}
	return nil
}

// act does action on task as the caller; the engine decides who may (a
// clerk of the unit replies, a clerk of the IT office reviews).
func (c *call) act(t sdk.Task, action string) (sdk.Outcome, error) {
	out, err := c.host.ActOnTaskWith(c.ctx, t.ID, action, sdk.ActOptions{})
	switch {
	case errors.Is(err, sdk.ErrDenied):
		return out, newError(http.StatusForbidden, codeNotYourTask, "the %s task waits for someone else: %v", t.StepName, err)
	case errors.Is(err, sdk.ErrConflict):
		return out, newError(http.StatusConflict, codeIllegalTransition, "the %s task was done meanwhile", t.StepName)
	}
	return out, fromHost(err, "the "+t.StepName+" task")
}

// replyMessage: a clerk of the unit replies in writing. The reply is
// kept first, then the task is done, then the message marked replied:
// a refused action leaves the message routed, with its task open.
func replyMessage(c *call, p params) (int, any, error) {
	in, err := parseReply(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	id := p["id"]
	_, m, err := c.visible(id)
	if err != nil {
		return 0, nil, err
	}
	if m.Status != statusRouted {
		return 0, nil, illegal(m, "replied to")
	}
	task, err := c.openTask(m, stepReply)
	var ae *apiError
	if errors.As(err, &ae) && ae.code == codeIllegalTransition && m.Reply != "" {
		// The reply task was done, with this message's draft, but the
		// host failed before the message was marked replied: the retry
		// marks it so.
		return c.finishReply(id, in)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := c.mayAct(task); err != nil {
		return 0, nil, err
	}
	late := lateReply(task, c.now)
	// The reply is kept before the task is done, so that a done task
	// never lacks its reply; a refused action leaves it a draft that the
	// next reply replaces.
	if _, _, err := c.update(id, func(m *message) error {
		if m.Status != statusRouted {
			return illegal(*m, "replied to")
		}
		m.Reply = in.Reply
		return nil
	}); err != nil {
		return 0, nil, err
	}
	out, err := c.act(task, actReply)
	if err != nil {
		return 0, nil, err
	}
	saved, m, err := c.markReplied(id, in.Reply, late)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "version": saved.Version, "message": m, "outcome": out}, nil
}

// lateReply reports whether a reply done at now on task is late: the
// task was red, or past its deadline.
func lateReply(t sdk.Task, now time.Time) bool {
	return t.Level >= 2 || t.DueAt != nil && now.After(*t.DueAt)
}

// markReplied marks message id replied with reply, late or not.
func (c *call) markReplied(id, reply string, late bool) (sdk.Record, message, error) {
	saved, m, err := c.update(id, func(m *message) error {
		now := c.now.UTC()
		m.Status, m.Reply, m.RepliedAt, m.RepliedBy = statusReplied, reply, &now, c.req.Caller.Login
		m.Late = m.Late || late
		return nil
	})
	if err == nil {
		c.audit("message.reply", id, nil, map[string]any{"unit_id": m.UnitID, "late": m.Late})
	}
	return saved, m, err
}

// finishReply completes a reply whose task is done already: only the
// account that did the task may (the engine checked it could), and the
// reply is late as the task was when it was done.
func (c *call) finishReply(id string, in replyInput) (int, any, error) {
	_, m, err := c.loadMessage(id)
	if err != nil {
		return 0, nil, err
	}
	done, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, InstanceID: m.InstanceID, Status: "done"})
	if err != nil {
		return 0, nil, fromHost(err, "the message's tasks")
	}
	var last *sdk.Task
	for i := range done {
		if done[i].Step == stepReply && (last == nil || done[i].ID > last.ID) {
			last = &done[i]
		}
	}
	if last == nil || last.ActedBy == nil || *last.ActedBy != c.who.account || last.ActedAt == nil {
		return 0, nil, illegal(m, "replied to")
	}
	saved, m, err := c.markReplied(id, in.Reply, lateReply(*last, *last.ActedAt))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "version": saved.Version, "message": m}, nil
}

// reviewMessage: the IT office accepts the reply (办结), publishing it if
// asked and the citizen allowed it, or returns it for rework. The
// published reply is written before the task is done and taken away if
// the action is refused, so that an accepted reply asked to be published
// always is; should the host fail after the task was done, the same
// clerk's retry of the same decision finishes what was left.
func reviewMessage(c *call, p params) (int, any, error) {
	in, err := parseReview(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	id := p["id"]
	_, m, err := c.visible(id)
	if err != nil {
		return 0, nil, err
	}
	if m.Status != statusReplied {
		return 0, nil, illegal(m, "reviewed")
	}
	if in.Publish && !m.Publishable {
		return 0, nil, newError(http.StatusConflict, codePublishNotAllowed, "the citizen did not allow the message to be published")
	}
	task, err := c.openTask(m, stepReview)
	var ae *apiError
	if errors.As(err, &ae) && ae.code == codeIllegalTransition {
		return c.finishReview(id, m, in)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := c.mayAct(task); err != nil {
		return 0, nil, err
	}
	pubID := publishedID(id, task)
	created := false
	if in.Publish {
		if created, err = c.publication(id, m, true, pubID); err != nil {
			return 0, nil, err
		}
	}
	out, err := c.act(task, in.Decision)
	if err != nil {
		// Only what this attempt published is taken back: one found
		// there may be that of a clerk whose accept was done first.
		if created {
			if undo := c.unpublish(pubID); undo != nil {
				return 0, nil, fmt.Errorf("take back published reply %s: %w (after %w)", pubID, undo, err)
			}
		}
		return 0, nil, err
	}
	if !in.Publish {
		// Once the action is done, and not before: until then the
		// reply found there may be a clerk's whose accept wins.
		if err := c.unpublish(pubID); err != nil {
			return 0, nil, err
		}
	}
	return c.reviewed(id, in, pubID, out.Opened, out)
}

// finishReview completes a review whose task is done already but whose
// message the host failed to mark: only the account that did the task,
// with the decision it took, may.
func (c *call) finishReview(id string, m message, in reviewInput) (int, any, error) {
	done, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, InstanceID: m.InstanceID, Status: "done"})
	if err != nil {
		return 0, nil, fromHost(err, "the message's tasks")
	}
	var reply, review *sdk.Task
	for i := range done {
		switch t := &done[i]; {
		case t.Step == stepReply && (reply == nil || t.ID > reply.ID):
			reply = t
		case t.Step == stepReview && (review == nil || t.ID > review.ID):
			review = t
		}
	}
	// The review must be of the reply the message holds (a later task
	// than the last reply), done by the caller with the same decision.
	if review == nil || reply == nil || review.ID < reply.ID || review.ActedBy == nil || *review.ActedBy != c.who.account ||
		review.Action == nil || *review.Action != in.Decision {
		return 0, nil, illegal(m, "reviewed")
	}
	pubID := publishedID(id, *review)
	if _, err := c.publication(id, m, in.Publish, pubID); err != nil {
		return 0, nil, err
	}
	var opened []sdk.Task
	if in.Decision == actReturn {
		if opened, err = c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfMessage, InstanceID: m.InstanceID, Status: "open"}); err != nil {
			return 0, nil, fromHost(err, "the message's tasks")
		}
	}
	return c.reviewed(id, in, pubID, opened, nil)
}

// reviewed marks message id as the review decided: returned to its unit
// (opened holds the new reply task) or answered, published as pubID if
// asked.
func (c *call) reviewed(id string, in reviewInput, pubID string, opened []sdk.Task, out any) (int, any, error) {
	now := c.now.UTC()
	answer := func(saved sdk.Record, m message) (int, any, error) {
		body := map[string]any{"id": id, "version": saved.Version, "message": m}
		if out != nil {
			body["outcome"] = out
		}
		return http.StatusOK, body, nil
	}
	if in.Decision == actReturn {
		saved, m, err := c.update(id, func(m *message) error {
			m.Returns = append(m.Returns, returned{At: now, By: c.req.Caller.Login, Reason: in.Reason, Reply: m.Reply})
			m.Status, m.Reply, m.RepliedAt, m.RepliedBy = statusRouted, "", nil, ""
			if due := replyDue(opened); due != nil {
				m.DueAt = due
			}
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
		c.audit("message.return", id, nil, map[string]any{"reason": in.Reason})
		return answer(saved, m)
	}
	if !in.Publish {
		pubID = ""
	}
	saved, m, err := c.update(id, func(m *message) error {
		m.Status, m.AnsweredAt, m.PublishedID = statusAnswered, &now, pubID
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	c.count(measureAnswered, m.UnitID, "answered:"+id)
	if m.Late {
		c.count(measureAnsweredLate, m.UnitID, "answered_late:"+id)
	}
	c.audit("message.accept", id, nil, map[string]any{"published_id": pubID, "late": m.Late})
	return answer(saved, m)
}

// publishedID is the id the reply of message id is published under when
// review task accepts it: the same for every attempt at the review, so
// that a retry finds what an attempt the host failed in published, and a
// reply is never listed twice. It sorts by when the review task opened
// (when the reply was given); its random part is the message's own.
func publishedID(id string, review sdk.Task) string {
	return sdk.NewestFirstID(review.CreatedAt)[:10] + id[10:]
}

// publication writes the published reply pubID of message m if publish,
// reporting whether it wrote it (rather than found it there), and
// otherwise takes away what an earlier attempt at the review may have
// left, so that only a reply accepted to be published is listed.
func (c *call) publication(id string, m message, publish bool, pubID string) (bool, error) {
	if !publish {
		return false, c.unpublish(pubID)
	}
	var unitName string
	units, err := c.host.Units(c.ctx, m.UnitID)
	if err != nil {
		return false, fromHost(err, "the unit")
	}
	if len(units) == 1 {
		unitName = units[0].Name
	}
	pub := published{Category: m.Category, Content: maskFor(m.Content, m.Contact), Reply: maskFor(m.Reply, m.Contact),
		UnitID: m.UnitID, UnitName: unitName, SubmittedAt: m.SubmittedAt, AnsweredAt: c.now.UTC()}
	_, err = c.host.Put(c.ctx, collPublished, pubID, 0, pub)
	if errors.Is(err, sdk.ErrConflict) {
		// Another attempt at this review published it.
		return false, nil
	}
	if err != nil {
		return false, fromHost(err, "the published reply "+id)
	}
	return true, nil
}

// unpublish takes published reply pubID away, if it is there.
func (c *call) unpublish(pubID string) error {
	rec, err := c.host.Get(c.ctx, collPublished, pubID)
	if errors.Is(err, sdk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fromHost(err, "the published reply")
	}
	if err := c.host.Delete(c.ctx, collPublished, pubID, rec.Version); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return fromHost(err, "the published reply")
	}
	return nil
}

package convenience

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// publicRoutes are what anyone reaches without a token, under
// /v1/public/{county}/modules/convenience/…; the host rate-limits each
// address and checks every body for classified content first.
func publicRoutes() []route {
	return []route{
		{"POST", "/public/messages", leaveMessage},
		{"POST", "/public/messages/{number}/query", followMessage},
		{"POST", "/public/messages/{number}/rating", rateReply},
		{"GET", "/public/replies", listReplies},
	}
}

// leaveMessage: a citizen leaves a message and gets its receipt, whose
// query code is shown this once. Where the county's settings route its
// category to a unit, and name the IT office that reviews the reply, the
// message is routed as it is left: its record, its receipt and its
// workflow, started for the rule's unit from the IT office, are written
// in one call to the host, all or none. Otherwise, or if the rule's unit
// cannot take it, it is left new, with its receipt, for the IT office
// to route.
func leaveMessage(c *call, _ params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	in, err := parseMessage(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	now := c.now.UTC()
	m := message{Category: in.Category, Content: in.Content, Contact: in.Contact, Publishable: in.Publishable, Status: statusNew, SubmittedAt: now,
		SubmittedMonth: now.In(china).Format(monthLayout)}
	id := sdk.NewestFirstID(now)
	done, routed, err := c.submitRouted(id, m)
	if err != nil {
		return 0, nil, err
	}
	if !routed {
		if done, err = c.host.Submit(c.ctx, sdk.Submission{Collection: collMessages, ID: id, Document: m, NumberField: "number"}); err != nil {
			return 0, nil, fromHost(err, "the message")
		}
	}
	if err := json.Unmarshal(done.Record.Document, &m); err != nil {
		return 0, nil, fmt.Errorf("message %s: %w", id, err)
	}
	c.audit("message.leave", id, nil, map[string]any{"number": m.Number, "category": m.Category})
	if routed {
		c.routedAsLeft(id, m)
	}
	return http.StatusCreated, map[string]any{
		"receipt": done.Receipt,
		"message": map[string]any{"category": m.Category, "status": m.Status, "publishable": m.Publishable, "submitted_at": m.SubmittedAt},
	}, nil
}

// submitRouted hands message m in routed by the county's rule, if the
// settings route its category and name the IT office, reporting whether
// it did. The rule's unit refusing it (no one there can act) is no
// failure: the message is then left for the IT office.
func (c *call) submitRouted(id string, m message) (sdk.Submitted, bool, error) {
	unit, office := c.settings.Routes[m.Category], c.settings.ITOfficeUnitID
	if unit == 0 || office == 0 {
		return sdk.Submitted{}, false, nil
	}
	now := c.now.UTC()
	m.Status, m.UnitID, m.RoutedAt, m.RoutedBy, m.RoutedMonth = statusRouted, unit, &now, c.req.Caller.Login, now.In(china).Format(monthLayout)
	done, err := c.host.Submit(c.ctx, sdk.Submission{Collection: collMessages, ID: id, Document: m, NumberField: "number",
		Workflow: wfMessage, InstanceField: "instance_id", DueField: "due_at", DueStep: stepReply,
		Start: sdk.StartOptions{Title: title(m), Reference: id, SubjectUnitID: unit, InitiatorUnitID: office}})
	if errors.Is(err, sdk.ErrInvalid) {
		c.log.Warn("a message the county's rule routes was left for the IT office: the host refused its start", "category", m.Category,
			"unit", unit, "it_office", office, "request", c.req.RequestID, "err", err)
		return sdk.Submitted{}, false, nil
	}
	if err != nil {
		return sdk.Submitted{}, false, fromHost(err, "the message")
	}
	if done.Outcome == nil {
		return sdk.Submitted{}, false, fmt.Errorf("message %s: the host started no workflow", id)
	}
	return done, true, nil
}

// routedAsLeft does what follows a message routed as it was left, its
// reply's deadline kept in it by the host (DueField): it counts it
// received by its unit and records the routing.
func (c *call) routedAsLeft(id string, m message) {
	c.count(measureReceived, m.UnitID, "received:"+id)
	c.audit("message.route", id, map[string]any{"status": statusNew}, map[string]any{"unit_id": m.UnitID, "instance_id": m.InstanceID, "rule": true, "as_left": true})
}

// byReceipt finds the message of a receipt's number and code. A wrong
// code and an unknown number are answered alike, 404 receipt_not_found,
// as the host answers them; the host's public routes rate-limit each
// address, so codes cannot be tried in bulk.
func (c *call) byReceipt(number, code string) (sdk.Record, message, error) {
	notFound := newError(http.StatusNotFound, codeReceiptNotFound, "no message has this number and query code")
	found, err := c.host.LookupReceipt(c.ctx, number, code)
	if errors.Is(err, sdk.ErrNotFound) || err == nil && found.Collection != collMessages {
		return sdk.Record{}, message{}, notFound
	}
	if err != nil {
		return sdk.Record{}, message{}, fromHost(err, "the receipt")
	}
	rec, m, err := c.loadMessage(found.RecordID)
	var ae *apiError
	if errors.As(err, &ae) && ae.code == codeMessageNotFound {
		return sdk.Record{}, message{}, notFound
	}
	return rec, m, err
}

// publicStatus is what a citizen reads of a message's status.
func publicStatus(m message) string {
	switch m.Status {
	case statusNew:
		return "已受理"
	case statusAnswered:
		return "已答复"
	}
	return "办理中"
}

// queryInput is the body of POST /public/messages/{number}/query: the
// receipt's code travels in the body, never in the URL, which proxies'
// logs and browsers' histories keep.
type queryInput struct {
	Code string `json:"code"`
}

// followMessage: POST /public/messages/{number}/query {"code": …}: the
// citizen reads their message, its status and, once accepted, the reply.
func followMessage(c *call, p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	var in queryInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	_, m, err := c.byReceipt(p["number"], in.Code)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"number": m.Number, "category": m.Category, "content": m.Content, "status": m.Status,
		"status_label": publicStatus(m), "submitted_at": m.SubmittedAt, "publishable": m.Publishable}
	if m.Status == statusAnswered {
		out["reply"], out["answered_at"] = m.Reply, m.AnsweredAt
		out["published"] = m.PublishedID != ""
		if m.Rating != "" {
			out["rating"], out["rated_at"] = m.Rating, m.RatedAt
		}
	}
	return http.StatusOK, out, nil
}

// ratingInput is the body of POST /public/messages/{number}/rating.
type ratingInput struct {
	Code   string `json:"code"`
	Rating string `json:"rating"`
}

// rateReply: the citizen rates the accepted reply, once. 不满意 reopens
// the message for the oversight view.
func rateReply(c *call, p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	var in ratingInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if _, ok := ratings[in.Rating]; !ok {
		return 0, nil, badRequest(codeInvalidRating, "rating is 满意, 基本满意 or 不满意, not %q", in.Rating)
	}
	rec, _, err := c.byReceipt(p["number"], in.Code)
	if err != nil {
		return 0, nil, err
	}
	now := c.now.UTC()
	_, m, err := c.update(rec.ID, func(m *message) error {
		switch {
		case m.Status != statusAnswered:
			return newError(http.StatusConflict, codeNotAnswered, "the message has no accepted reply to rate yet")
		case m.Rating != "":
			return newError(http.StatusConflict, codeAlreadyRated, "the reply was rated %s already; a reply is rated once", m.Rating)
		}
		m.Rating, m.RatedAt = in.Rating, &now
		m.Reopened = in.Rating == "不满意"
		return nil
	})
	var ae *apiError
	if errors.As(err, &ae) && ae.code == codeAlreadyRated {
		// The rating given is kept; a measure the host failed to record
		// then is recorded now (once: its key is the message's), so that
		// the citizen's retry of a rating that failed half-way loses no
		// figure.
		c.countRating(rec.ID, m)
	}
	if err != nil {
		return 0, nil, err
	}
	c.countRating(rec.ID, m)
	c.audit("message.rate", rec.ID, nil, map[string]any{"rating": m.Rating})
	return http.StatusOK, map[string]any{"number": m.Number, "rating": m.Rating, "rated_at": m.RatedAt, "reopened": m.Reopened}, nil
}

// countRating records the measures of message id's rating.
func (c *call) countRating(id string, m message) {
	c.count(ratings[m.Rating], m.UnitID, "rated:"+id)
	if m.Reopened {
		c.count(measureReopened, m.UnitID, "reopened:"+id)
	}
}

// publicReply is a published reply as the public pages list it.
type publicReply struct {
	ID string `json:"id"`
	published
}

// listReplies: GET /public/replies?after=&limit=: the published replies,
// newest first, a page at a time; the masked text only.
func listReplies(c *call, _ params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "after", "limit")
	if err != nil {
		return 0, nil, err
	}
	limit, err := pageLimit(q["limit"], 20, 100)
	if err != nil {
		return 0, nil, err
	}
	after := q["after"]
	if after != "" && !sdk.ValidNewestFirstID(after) {
		return 0, nil, badRequest(codeInvalidQuery, "after %q is not a reply's id", after)
	}
	page, err := c.host.Query(c.ctx, collPublished, sdk.Query{Limit: limit, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the published replies")
	}
	out := make([]publicReply, 0, len(page.Records))
	for _, r := range page.Records {
		var pr published
		if err := json.Unmarshal(r.Document, &pr); err != nil {
			return 0, nil, fmt.Errorf("published reply %s: %w", r.ID, err)
		}
		out = append(out, publicReply{r.ID, pr})
	}
	return http.StatusOK, map[string]any{"replies": out, "next": page.Next}, nil
}

package oa

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Collections of notices (通知): the notices, and each recipient
// account's copy of one, which is its place in the account's list and
// its read receipt (阅读回执).
const (
	collNotices        = "notices"
	collNoticeReceipts = "notice_receipts"
	// collUploads names, by file id, who declared each attachment: only
	// its uploader attaches it, since a file id is no secret (it is in
	// every URL of the file) and the host's files are the module's, not
	// any one person's.
	collUploads = "uploads"
)

// Measures of notices, per unit.
const (
	measureNoticesSent = "oa.notices.sent"
	measureNoticesRead = "oa.notices.read"
)

// testNoticesToPass is how many test notices each unit receives, and
// sends back, in the testing phase (系统测试; docs/oa.md).
const testNoticesToPass = 2

func noticeCollections() map[string]sdk.Collection {
	return map[string]sdk.Collection{
		// A unit's sent notices, and the test notices the testing phase
		// counts.
		collNotices: {Indexed: []string{"from_unit_id", "test"}},
		// A notice's receipts; an account's notices, unread first if
		// asked.
		collNoticeReceipts: {Indexed: []string{"notice_id", "account_id", "read"}},
		collUploads:        {},
	}
}

// upload is who declared an attachment.
type upload struct {
	AccountID int64 `json:"account_id"`
}

func noticeMeasures() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureNoticesSent, Label: sdk.Text{ZH: "发出通知数", EN: "Notices sent"}, Counts: sdk.Text{ZH: "本单位发出的一份通知", EN: "one notice the unit sent"}},
		{ID: measureNoticesRead, Label: sdk.Text{ZH: "阅读通知数", EN: "Notices read"}, Counts: sdk.Text{ZH: "本单位一位收件人第一次阅读一份通知", EN: "a first reading of a notice by one of the unit's recipients"}},
	}
}

func noticeRoutes() []route {
	return []route{
		{http.MethodPost, "/attachments", (*call).createAttachment},
		{http.MethodPost, "/notices", (*call).sendNotice},
		// Before /notices/{id}, which would match them.
		{http.MethodGet, "/notices/received", (*call).receivedNotices},
		{http.MethodGet, "/notices/sent", (*call).sentNotices},
		{http.MethodGet, "/notices/tests", (*call).noticeTests},
		{http.MethodGet, "/notices/{id}", (*call).getNotice},
		{http.MethodPost, "/notices/{id}/read", (*call).readNotice},
		{http.MethodGet, "/notices/{id}/receipts", (*call).noticeReceipts},
		{http.MethodGet, "/notices/{id}/attachments/{file}", (*call).noticeAttachment},
	}
}

// notice is a notice as kept and answered.
type notice struct {
	ID            string       `json:"id"`
	FromUnitID    int64        `json:"from_unit_id"`
	FromUnitName  string       `json:"from_unit_name"`
	FromAccountID int64        `json:"from_account_id"`
	FromLogin     string       `json:"from_login"`
	Subject       string       `json:"subject"`
	Body          string       `json:"body"`
	Urgency       string       `json:"urgency"`
	Attachments   []attachment `json:"attachments"`
	// ToUnitIDs are the units it went to, every unit but the sender's
	// when AllUnits; ToAccountIDs the accounts named besides.
	ToUnitIDs    []int64   `json:"to_unit_ids"`
	ToAccountIDs []int64   `json:"to_account_ids"`
	AllUnits     bool      `json:"all_units"`
	SMSReminder  bool      `json:"sms_reminder"`
	Test         bool      `json:"test"`
	Recipients   int       `json:"recipients"`
	SentAt       time.Time `json:"sent_at"`
}

// noticeReceipt is one recipient account's copy of a notice.
type noticeReceipt struct {
	NoticeID  string `json:"notice_id"`
	AccountID int64  `json:"account_id"`
	UnitID    int64  `json:"unit_id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	// ViaUnit says it reached the account as a member of a unit the
	// notice went to, rather than by name.
	ViaUnit      bool       `json:"via_unit"`
	FromUnitID   int64      `json:"from_unit_id"`
	FromUnitName string     `json:"from_unit_name"`
	FromLogin    string     `json:"from_login"`
	Subject      string     `json:"subject"`
	Urgency      string     `json:"urgency"`
	Test         bool       `json:"test"`
	Attachments  int        `json:"attachments"`
	SentAt       time.Time  `json:"sent_at"`
	Read         bool       `json:"read"`
	ReadAt       *time.Time `json:"read_at"`
}

// noticeInput is the body of POST /notices.
type noticeInput struct {
	Subject      string   `json:"subject"`
	Body         string   `json:"body"`
	Urgency      string   `json:"urgency"`
	ToUnitIDs    []int64  `json:"to_unit_ids"`
	ToAccountIDs []int64  `json:"to_account_ids"`
	AllUnits     bool     `json:"all_units"`
	Attachments  []string `json:"attachments"`
	SMSReminder  bool     `json:"sms_reminder"`
	Test         bool     `json:"test"`
}

// parseNoticeInput decodes and checks a notice's body, short of what
// needs the host (recipients, attachments).
func parseNoticeInput(body []byte) (noticeInput, error) {
	var in noticeInput
	if err := decodeBody(body, &in); err != nil {
		return noticeInput{}, err
	}
	var err error
	if in.Subject, err = cleanSubject(codeInvalidNotice, in.Subject); err != nil {
		return noticeInput{}, err
	}
	if in.Body, err = cleanBody(codeInvalidNotice, in.Body); err != nil {
		return noticeInput{}, err
	}
	if in.Urgency == "" {
		in.Urgency = messageUrgencies[0]
	}
	if !slices.Contains(messageUrgencies, in.Urgency) {
		return noticeInput{}, badRequest(codeInvalidNotice, "urgency %q is not one of %s", in.Urgency, strings.Join(messageUrgencies, ", "))
	}
	if in.ToUnitIDs, err = distinctIDs(codeInvalidNotice, "to_unit_ids", in.ToUnitIDs); err != nil {
		return noticeInput{}, err
	}
	if in.ToAccountIDs, err = distinctIDs(codeInvalidNotice, "to_account_ids", in.ToAccountIDs); err != nil {
		return noticeInput{}, err
	}
	switch {
	case in.AllUnits && len(in.ToUnitIDs) > 0:
		return noticeInput{}, badRequest(codeInvalidNotice, "all_units goes to every unit; name no to_unit_ids with it")
	case !in.AllUnits && len(in.ToUnitIDs) == 0 && len(in.ToAccountIDs) == 0:
		return noticeInput{}, badRequest(codeInvalidNotice, "name the recipients: to_unit_ids, to_account_ids, or all_units")
	}
	return in, nil
}

// recipientAccount is an account a notice reaches.
type recipientAccount struct {
	sdk.Account
	viaUnit bool
}

// noticeRecipients finds the units and accounts in: each named one must
// be the county's (an active account), and the accounts are the named
// ones and every active account of the units, the sender left out.
func (c *call) noticeRecipients(in *noticeInput) ([]recipientAccount, error) {
	units, err := c.host.Units(c.ctx, in.ToUnitIDs...)
	if err != nil {
		return nil, fromHost(err, "the recipient units")
	}
	if in.AllUnits {
		in.ToUnitIDs = in.ToUnitIDs[:0]
		for _, u := range units {
			if u.ID != c.who.unit {
				in.ToUnitIDs = append(in.ToUnitIDs, u.ID)
			}
		}
		if len(in.ToUnitIDs) == 0 {
			return nil, badRequest(codeInvalidNotice, "the county has no unit but the sender's")
		}
	} else if missing := missingIDs(in.ToUnitIDs, units, func(u sdk.Unit) int64 { return u.ID }); len(missing) > 0 {
		return nil, badRequest(codeUnknownUnit, "the county has no unit %s", joinIDs(missing))
	}
	var named []sdk.Account
	if len(in.ToAccountIDs) > 0 {
		if named, err = c.host.Accounts(c.ctx, sdk.AccountQuery{IDs: in.ToAccountIDs}); err != nil {
			return nil, fromHost(err, "the recipient accounts")
		}
		if missing := missingIDs(in.ToAccountIDs, named, func(a sdk.Account) int64 { return a.ID }); len(missing) > 0 {
			return nil, badRequest(codeUnknownAccount, "the county has no active account %s", joinIDs(missing))
		}
	}
	var members []sdk.Account
	for chunk := range slices.Chunk(in.ToUnitIDs, maxNamedRecipients) {
		found, err := c.host.Accounts(c.ctx, sdk.AccountQuery{UnitIDs: chunk})
		if errors.Is(err, sdk.ErrInvalid) {
			return nil, badRequest(codeInvalidNotice, "the units have more than %d accounts; send to fewer units", maxRecipients)
		}
		if err != nil {
			return nil, fromHost(err, "the recipient units' accounts")
		}
		members = append(members, found...)
	}
	var out []recipientAccount
	seen := map[int64]bool{c.who.account: true}
	for _, a := range named {
		if !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, recipientAccount{Account: a})
		}
	}
	for _, a := range members {
		if !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, recipientAccount{Account: a, viaUnit: true})
		}
	}
	switch {
	case len(out) == 0:
		return nil, badRequest(codeInvalidNotice, "the recipients have no active account besides the sender")
	case len(out) > maxRecipients:
		return nil, badRequest(codeInvalidNotice, "the notice would reach %d accounts; at most %d", len(out), maxRecipients)
	}
	return out, nil
}

func missingIDs[T any](asked []int64, found []T, id func(T) int64) []int64 {
	var missing []int64
	for _, want := range asked {
		if !slices.ContainsFunc(found, func(f T) bool { return id(f) == want }) {
			missing = append(missing, want)
		}
	}
	return missing
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// attachmentInput is the body of POST /attachments.
type attachmentInput struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// createAttachment: POST /attachments declares a file to attach to a
// notice or a mail, within the county's limits, and answers the URL its
// bytes go to.
func (c *call) createAttachment(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of a unit attaches files")
	}
	var in attachmentInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 255 || strings.ContainsAny(in.Name, "/\\") || strings.IndexFunc(in.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return 0, nil, badRequest(codeInvalidFile, "name is 1 to 255 characters, without slashes or control characters")
	}
	if in.Size <= 0 {
		return 0, nil, badRequest(codeInvalidFile, "size is the file's exact size in bytes, at least 1")
	}
	if err := c.allowedFile(in.ContentType, in.Size); err != nil {
		return 0, nil, err
	}
	u, err := c.host.CreateUpload(c.ctx, in.Name, in.ContentType, in.Size)
	if err != nil {
		return 0, nil, fromHost(err, "the upload")
	}
	if _, err := c.host.Put(c.ctx, collUploads, u.FileID, 0, upload{AccountID: c.who.account}); err != nil {
		return 0, nil, fromHost(err, "the upload's owner")
	}
	return http.StatusCreated, u, nil
}

// sendNotice: POST /notices, by an account of a unit, from its unit; to
// every unit (all_units) only by the county's system_admin (the IT
// office, 信息中心). Nothing is written unless every recipient and
// attachment is good.
func (c *call) sendNotice(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of a unit sends notices")
	}
	in, err := parseNoticeInput(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	if in.AllUnits && !c.who.county {
		return 0, nil, forbidden("only the county's system_admin sends a notice to every unit")
	}
	if err := c.checkSMSReminder(in.SMSReminder); err != nil {
		return 0, nil, err
	}
	from, err := c.host.Units(c.ctx, c.who.unit)
	if err != nil {
		return 0, nil, fromHost(err, "the sender's unit")
	}
	if len(from) != 1 {
		return 0, nil, forbidden("the caller's unit %d is not one of the county's", c.who.unit)
	}
	atts, err := c.checkAttachments(in.Attachments)
	if err != nil {
		return 0, nil, err
	}
	recipients, err := c.noticeRecipients(&in)
	if err != nil {
		return 0, nil, err
	}
	n := notice{
		ID: sdk.NewestFirstID(c.now), FromUnitID: c.who.unit, FromUnitName: from[0].Name, FromAccountID: c.who.account, FromLogin: c.who.login,
		Subject: in.Subject, Body: in.Body, Urgency: in.Urgency, Attachments: atts, ToUnitIDs: in.ToUnitIDs, ToAccountIDs: in.ToAccountIDs,
		AllUnits: in.AllUnits, SMSReminder: in.SMSReminder, Test: in.Test, Recipients: len(recipients), SentAt: c.now.UTC(),
	}
	if n.ToUnitIDs == nil {
		n.ToUnitIDs = []int64{}
	}
	if n.ToAccountIDs == nil {
		n.ToAccountIDs = []int64{}
	}
	var w writes
	if err := w.put(c, collNotices, n.ID, n); err != nil {
		return 0, nil, fromHost(err, "the notice")
	}
	ids := make([]int64, 0, len(recipients))
	for _, r := range recipients {
		rc := noticeReceipt{NoticeID: n.ID, AccountID: r.ID, UnitID: r.UnitID, Login: r.Login, Name: r.Name, ViaUnit: r.viaUnit,
			FromUnitID: n.FromUnitID, FromUnitName: n.FromUnitName, FromLogin: n.FromLogin, Subject: n.Subject, Urgency: n.Urgency,
			Test: n.Test, Attachments: len(n.Attachments), SentAt: n.SentAt}
		if err := w.put(c, collNoticeReceipts, receiptID(n.ID, r.ID), rc); err != nil {
			w.undo(c)
			return 0, nil, fromHost(err, "a recipient's copy of the notice")
		}
		ids = append(ids, r.ID)
	}
	subject := "【通知】" + n.Subject
	if n.Urgency != messageUrgencies[0] {
		subject = "【" + n.Urgency + "通知】" + n.Subject
	}
	if err := c.notifyAccounts(ids, subject, n.FromUnitName+"：\n"+n.Body, n.SMSReminder); err != nil {
		w.undo(c)
		return 0, nil, err
	}
	c.record(measureNoticesSent, n.FromUnitID, "notices.sent:"+n.ID)
	c.audit("notice.send", "notice", n.ID, nil, noticeAudit(n))
	return http.StatusCreated, n, nil
}

// noticeAudit is what the trail keeps a digest of: who sent what to whom.
func noticeAudit(n notice) any {
	return map[string]any{"subject": n.Subject, "from_unit_id": n.FromUnitID, "to_unit_ids": n.ToUnitIDs, "to_account_ids": n.ToAccountIDs,
		"recipients": n.Recipients, "sms_reminder": n.SMSReminder, "test": n.Test}
}

// loadNotice reads notice id; a malformed or unknown id is
// notice_not_found.
func (c *call) loadNotice(id string) (notice, error) {
	if !sdk.ValidNewestFirstID(id) {
		return notice{}, newError(http.StatusNotFound, codeNoticeNotFound, "no notice %s", id)
	}
	n, _, ok, err := readRecord[notice](c, collNotices, id, "the notice")
	if err == nil && !ok {
		err = newError(http.StatusNotFound, codeNoticeNotFound, "no notice %s", id)
	}
	return n, err
}

// myReceipt reads the caller's copy of notice id, ok false if it has
// none.
func (c *call) myReceipt(id string) (noticeReceipt, int64, bool, error) {
	if c.who.account <= 0 || !sdk.ValidNewestFirstID(id) {
		return noticeReceipt{}, 0, false, nil
	}
	return readRecord[noticeReceipt](c, collNoticeReceipts, receiptID(id, c.who.account), "your copy of the notice")
}

// sendersSide reports whether the caller sees n as its sender does: an
// account of the sending unit, or the county's system_admin.
func (c *call) sendersSide(n notice) bool {
	return c.who.county || c.who.staff() && c.who.unit == n.FromUnitID
}

// noticeView is a notice as one of its readers sees it: a recipient
// with its own read_at.
type noticeView struct {
	notice
	ReadAt *time.Time `json:"read_at,omitempty"`
}

// getNotice: GET /notices/{id}, to its recipients, the sending unit's
// accounts and the county's system_admin; to anyone else it does not
// exist. Reading it here marks nothing: POST …/read does.
func (c *call) getNotice(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	n, rc, err := c.visibleNotice(p["id"])
	if err != nil {
		return 0, nil, err
	}
	v := noticeView{notice: n}
	if rc != nil {
		v.ReadAt = rc.ReadAt
	}
	return http.StatusOK, v, nil
}

// visibleNotice reads notice id if the caller may see it, with the
// caller's copy if a recipient.
func (c *call) visibleNotice(id string) (notice, *noticeReceipt, error) {
	n, err := c.loadNotice(id)
	if err != nil {
		return notice{}, nil, err
	}
	rc, _, mine, err := c.myReceipt(id)
	if err != nil {
		return notice{}, nil, err
	}
	if mine {
		return n, &rc, nil
	}
	if c.sendersSide(n) {
		return n, nil, nil
	}
	return notice{}, nil, newError(http.StatusNotFound, codeNoticeNotFound, "no notice %s", id)
}

// readNotice: POST /notices/{id}/read, by a recipient: its read receipt,
// the first time only (a second read changes nothing and counts
// nothing).
func (c *call) readNotice(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	id := p["id"]
	for range 3 {
		rc, version, mine, err := c.myReceipt(id)
		if err != nil {
			return 0, nil, err
		}
		if !mine {
			return 0, nil, newError(http.StatusNotFound, codeNoticeNotFound, "no notice %s to you", id)
		}
		if rc.Read {
			return http.StatusOK, rc, nil
		}
		at := c.now.UTC()
		rc.Read, rc.ReadAt = true, &at
		_, err = c.host.Put(c.ctx, collNoticeReceipts, receiptID(id, c.who.account), version, rc)
		if errors.Is(err, sdk.ErrConflict) {
			// Read at the same moment elsewhere: what it wrote stands.
			continue
		}
		if err != nil {
			return 0, nil, fromHost(err, "the read receipt")
		}
		c.record(measureNoticesRead, rc.UnitID, "notices.read:"+receiptID(id, c.who.account))
		return http.StatusOK, rc, nil
	}
	return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the receipt kept changing; retry")
}

// receiptsOf reads every recipient's copy of notice id.
func (c *call) receiptsOf(id string) ([]noticeReceipt, error) {
	var out []noticeReceipt
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collNoticeReceipts, sdk.Query{Where: map[string]string{"notice_id": id}, Limit: 200, After: after})
		if err != nil {
			return nil, fromHost(err, "the notice's receipts")
		}
		for _, r := range page.Records {
			var rc noticeReceipt
			if err := json.Unmarshal(r.Document, &rc); err != nil {
				return nil, formatErr("notice receipt", r.ID, err)
			}
			out = append(out, rc)
		}
		if page.Next == "" {
			return out, nil
		}
		after = page.Next
	}
}

// unitReceipt is a recipient unit's reading of a notice: how many of
// its accounts it reached, how many read it, and when the first did.
type unitReceipt struct {
	UnitID      int64      `json:"unit_id"`
	Recipients  int        `json:"recipients"`
	Read        int        `json:"read"`
	FirstReadAt *time.Time `json:"first_read_at"`
}

// accountReceipt is one recipient's reading of a notice.
type accountReceipt struct {
	AccountID int64      `json:"account_id"`
	UnitID    int64      `json:"unit_id"`
	Login     string     `json:"login"`
	Name      string     `json:"name"`
	ViaUnit   bool       `json:"via_unit"`
	ReadAt    *time.Time `json:"read_at"`
}

// noticeReceipts: GET /notices/{id}/receipts, to the sending unit's
// accounts and the county's system_admin: who read it and when, per
// unit and per account.
func (c *call) noticeReceipts(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	n, err := c.loadNotice(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.sendersSide(n) {
		return 0, nil, newError(http.StatusNotFound, codeNoticeNotFound, "no notice %s sent by your unit", n.ID)
	}
	all, err := c.receiptsOf(n.ID)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		NoticeID   string           `json:"notice_id"`
		Recipients int              `json:"recipients"`
		Read       int              `json:"read"`
		Units      []unitReceipt    `json:"units"`
		Accounts   []accountReceipt `json:"accounts"`
	}{NoticeID: n.ID, Recipients: len(all), Units: []unitReceipt{}, Accounts: make([]accountReceipt, 0, len(all))}
	byUnit := map[int64]*unitReceipt{}
	for _, u := range n.ToUnitIDs {
		byUnit[u] = &unitReceipt{UnitID: u}
	}
	for _, rc := range all {
		out.Accounts = append(out.Accounts, accountReceipt{AccountID: rc.AccountID, UnitID: rc.UnitID, Login: rc.Login, Name: rc.Name, ViaUnit: rc.ViaUnit, ReadAt: rc.ReadAt})
		u := byUnit[rc.UnitID]
		if u == nil {
			u = &unitReceipt{UnitID: rc.UnitID}
			byUnit[rc.UnitID] = u
		}
		u.Recipients++
		if rc.ReadAt != nil {
			out.Read++
			u.Read++
			if u.FirstReadAt == nil || rc.ReadAt.Before(*u.FirstReadAt) {
				u.FirstReadAt = rc.ReadAt
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(byUnit)) {
		out.Units = append(out.Units, *byUnit[id])
	}
	slices.SortFunc(out.Accounts, func(a, b accountReceipt) int { return int(a.AccountID - b.AccountID) })
	return http.StatusOK, out, nil
}

// noticeList is a page of notices.
type noticeList[T any] struct {
	Notices []T    `json:"notices"`
	Next    string `json:"next,omitempty"`
}

// receivedNotices: GET /notices/received, the caller's own, newest
// first; ?unread=true keeps to those not read yet.
func (c *call) receivedNotices(params) (int, any, error) {
	receipts, next, err := ownCopies[noticeReceipt](c, collNoticeReceipts, "notices", "your notices")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, noticeList[noticeReceipt]{Notices: receipts, Next: next}, nil
}

// sentNotices: GET /notices/sent, the caller's unit's, newest first; the
// county's system_admin may name another ?unit=.
func (c *call) sentNotices(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit", "limit", "after")
	if err != nil {
		return 0, nil, err
	}
	unit := c.who.unit
	if s, ok := q["unit"]; ok {
		if unit, err = positiveID("unit", s); err != nil {
			return 0, nil, err
		}
	}
	if !c.who.county && !(c.who.staff() && unit == c.who.unit) {
		return 0, nil, forbidden("an account reads its own unit's sent notices; the county's system_admin any unit's")
	}
	limit, after, err := pageOf(q)
	if err != nil {
		return 0, nil, err
	}
	page, err := c.host.Query(c.ctx, collNotices, sdk.Query{Where: map[string]string{"from_unit_id": strconv.FormatInt(unit, 10)}, Limit: limit, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the sent notices")
	}
	out := noticeList[notice]{Notices: make([]notice, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var n notice
		if err := json.Unmarshal(r.Document, &n); err != nil {
			return 0, nil, formatErr("notice", r.ID, err)
		}
		out.Notices = append(out.Notices, n)
	}
	return http.StatusOK, out, nil
}

// noticeAttachment: GET /notices/{id}/attachments/{file}, a short-lived
// URL of one of the notice's files, to whoever may read the notice.
func (c *call) noticeAttachment(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	n, _, err := c.visibleNotice(p["id"])
	if err != nil {
		return 0, nil, err
	}
	return c.attachmentURL(n.Attachments, p["file"])
}

// attachmentURL answers a download URL of file, if it is one of atts.
func (c *call) attachmentURL(atts []attachment, file string) (int, any, error) {
	if !slices.ContainsFunc(atts, func(a attachment) bool { return a.FileID == file }) {
		return 0, nil, newError(http.StatusNotFound, codeFileNotFound, "no attachment %s here", file)
	}
	u, err := c.host.DownloadURL(c.ctx, file, 15*time.Minute)
	if err != nil {
		return 0, nil, fromHost(err, "the attachment")
	}
	return http.StatusOK, u, nil
}

// unitTests is a unit's part in the testing phase (系统测试): its test
// notices or test mail, and whether SMS reminders can reach its people.
type unitTests struct {
	UnitID int64  `json:"unit_id"`
	Name   string `json:"name"`
	// Accounts are the unit's active accounts, WithMobile those an SMS
	// reminder reaches.
	Accounts   int `json:"accounts"`
	WithMobile int `json:"with_mobile"`
	// Received are the tests sent to the unit by another unit, and
	// ReceivedRead those of them one of its accounts read; Sent are the
	// tests it sent to another unit.
	Received     int  `json:"received"`
	ReceivedRead int  `json:"received_read"`
	Sent         int  `json:"sent"`
	Passed       bool `json:"passed"`
}

// testReport is the testing phase's report of notices or mail.
type testReport struct {
	Required int         `json:"required"`
	Units    []unitTests `json:"units"`
	byUnit   map[int64]*unitTests
	order    []int64
}

// testReport starts a report with every unit of the county and its
// accounts.
func (c *call) testReport() (*testReport, map[int64]*unitTests, error) {
	units, err := c.host.Units(c.ctx)
	if err != nil {
		return nil, nil, fromHost(err, "the county's units")
	}
	r := &testReport{Required: testNoticesToPass, Units: make([]unitTests, 0, len(units)), byUnit: make(map[int64]*unitTests, len(units))}
	ids := make([]int64, 0, len(units))
	for _, u := range units {
		r.byUnit[u.ID] = &unitTests{UnitID: u.ID, Name: u.Name}
		r.order = append(r.order, u.ID)
		ids = append(ids, u.ID)
	}
	for chunk := range slices.Chunk(ids, maxNamedRecipients) {
		accounts, err := c.host.Accounts(c.ctx, sdk.AccountQuery{UnitIDs: chunk})
		if err != nil {
			return nil, nil, fromHost(err, "the units' accounts")
		}
		for _, a := range accounts {
			if t := r.byUnit[a.UnitID]; t != nil {
				t.Accounts++
				if a.HasMobile {
					t.WithMobile++
				}
			}
		}
	}
	return r, r.byUnit, nil
}

// done decides who passed: 2 tests received and read, and 2 sent back.
func (r *testReport) done() *testReport {
	for _, id := range r.order {
		t := r.byUnit[id]
		t.Passed = t.Received >= testNoticesToPass && t.ReceivedRead >= testNoticesToPass && t.Sent >= testNoticesToPass
		r.Units = append(r.Units, *t)
	}
	return r
}

// noticeTests: GET /notices/tests, to the county's system_admin and
// operators: per unit, the test notices it received and sent back, and
// whether it passed (docs/oa.md: 2 each way, each received one read).
func (c *call) noticeTests(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.county && !c.who.operator {
		return 0, nil, forbidden("the testing phase's counts are the county's system_admin's and the operators'")
	}
	report, byUnit, err := c.testReport()
	if err != nil {
		return 0, nil, err
	}
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collNotices, sdk.Query{Where: map[string]string{"test": "true"}, Limit: 200, After: after})
		if err != nil {
			return 0, nil, fromHost(err, "the test notices")
		}
		for _, r := range page.Records {
			var n notice
			if err := json.Unmarshal(r.Document, &n); err != nil {
				return 0, nil, formatErr("notice", r.ID, err)
			}
			if err := c.countTest(n, byUnit); err != nil {
				return 0, nil, err
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	return http.StatusOK, report.done(), nil
}

// countTest adds test notice n to its sender's and its recipient units'
// counts.
func (c *call) countTest(n notice, byUnit map[int64]*unitTests) error {
	others := slices.DeleteFunc(slices.Clone(n.ToUnitIDs), func(u int64) bool { return u == n.FromUnitID })
	if len(others) == 0 {
		return nil
	}
	if t := byUnit[n.FromUnitID]; t != nil {
		t.Sent++
	}
	receipts, err := c.receiptsOf(n.ID)
	if err != nil {
		return err
	}
	for _, u := range others {
		t := byUnit[u]
		if t == nil {
			continue
		}
		t.Received++
		if slices.ContainsFunc(receipts, func(rc noticeReceipt) bool { return rc.UnitID == u && rc.ReadAt != nil }) {
			t.ReceivedRead++
		}
	}
	return nil
}

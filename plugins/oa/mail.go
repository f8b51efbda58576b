package oa

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Collections of internal mail (内部邮件): the mail as sent, and each
// recipient's copy of it, which is its place in the recipient's inbox
// and its read receipt.
const (
	collMail      = "mail"
	collMailboxes = "mailboxes"
)

// Measures of mail, per unit.
const (
	measureMailSent = "oa.mail.sent"
	measureMailRead = "oa.mail.read"
)

func mailCollections() map[string]sdk.Collection {
	return map[string]sdk.Collection{
		// An account's sent mail, and the test mail the testing phase
		// counts.
		collMail: {Indexed: []string{"from_account_id", "test"}},
		// A mail's receipts; an account's inbox, unread first if asked.
		collMailboxes: {Indexed: []string{"mail_id", "account_id", "read"}},
	}
}

func mailMeasures() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureMailSent, Label: sdk.Text{ZH: "发出邮件数", EN: "Mail sent"}, Counts: sdk.Text{ZH: "本单位的人发出的一封邮件", EN: "one mail sent by an account of the unit"}},
		{ID: measureMailRead, Label: sdk.Text{ZH: "阅读邮件数", EN: "Mail read"}, Counts: sdk.Text{ZH: "本单位一位收件人第一次阅读一封邮件", EN: "a first reading of a mail by one of the unit's recipients"}},
	}
}

func mailRoutes() []route {
	return []route{
		{http.MethodPost, "/mail", (*call).sendMail},
		// Before /mail/{id}, which would match them.
		{http.MethodGet, "/mail/inbox", (*call).inbox},
		{http.MethodGet, "/mail/sent", (*call).sentMail},
		{http.MethodGet, "/mail/tests", (*call).mailTests},
		{http.MethodGet, "/mail/{id}", (*call).getMail},
		{http.MethodPost, "/mail/{id}/read", (*call).readMail},
		{http.MethodGet, "/mail/{id}/receipts", (*call).mailReceipts},
		{http.MethodGet, "/mail/{id}/attachments/{file}", (*call).mailAttachment},
	}
}

// mail is a mail as kept and answered.
type mail struct {
	ID            string       `json:"id"`
	FromAccountID int64        `json:"from_account_id"`
	FromUnitID    int64        `json:"from_unit_id"`
	FromLogin     string       `json:"from_login"`
	FromName      string       `json:"from_name"`
	To            []int64      `json:"to"`
	CC            []int64      `json:"cc"`
	Subject       string       `json:"subject"`
	Body          string       `json:"body"`
	Attachments   []attachment `json:"attachments"`
	SMSReminder   bool         `json:"sms_reminder"`
	// Test marks a test mail of the testing phase (系统测试).
	Test   bool      `json:"test"`
	SentAt time.Time `json:"sent_at"`
}

// mailCopy is one recipient's copy of a mail: its inbox entry and read
// receipt.
type mailCopy struct {
	MailID    string `json:"mail_id"`
	AccountID int64  `json:"account_id"`
	UnitID    int64  `json:"unit_id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	// Field is "to" or "cc" (抄送).
	Field         string     `json:"field"`
	FromAccountID int64      `json:"from_account_id"`
	FromLogin     string     `json:"from_login"`
	FromName      string     `json:"from_name"`
	Subject       string     `json:"subject"`
	Attachments   int        `json:"attachments"`
	SentAt        time.Time  `json:"sent_at"`
	Read          bool       `json:"read"`
	ReadAt        *time.Time `json:"read_at"`
}

// mailInput is the body of POST /mail.
type mailInput struct {
	To          []int64  `json:"to"`
	CC          []int64  `json:"cc"`
	Subject     string   `json:"subject"`
	Body        string   `json:"body"`
	Attachments []string `json:"attachments"`
	SMSReminder bool     `json:"sms_reminder"`
	Test        bool     `json:"test"`
}

// parseMailInput decodes and checks a mail's body, short of what needs
// the host (recipients, attachments).
func parseMailInput(body []byte) (mailInput, error) {
	var in mailInput
	if err := decodeBody(body, &in); err != nil {
		return mailInput{}, err
	}
	var err error
	if in.Subject, err = cleanSubject(codeInvalidMail, in.Subject); err != nil {
		return mailInput{}, err
	}
	if in.Body, err = cleanBody(codeInvalidMail, in.Body); err != nil {
		return mailInput{}, err
	}
	if in.To, err = distinctIDs(codeInvalidMail, "to", in.To); err != nil {
		return mailInput{}, err
	}
	if in.CC, err = distinctIDs(codeInvalidMail, "cc", in.CC); err != nil {
		return mailInput{}, err
	}
	if len(in.To) == 0 {
		return mailInput{}, badRequest(codeInvalidMail, "name at least one recipient in to")
	}
	// Whoever is in both gets the mail once, as to.
	in.CC = slices.DeleteFunc(in.CC, func(id int64) bool { return slices.Contains(in.To, id) })
	if len(in.To)+len(in.CC) > maxNamedRecipients {
		return mailInput{}, badRequest(codeInvalidMail, "%d recipients; at most %d", len(in.To)+len(in.CC), maxNamedRecipients)
	}
	return in, nil
}

// sendMail: POST /mail, from an account of a unit to active accounts of
// the county. Nothing is written unless every recipient and attachment
// is good.
func (c *call) sendMail(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of a unit sends mail")
	}
	in, err := parseMailInput(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	if err := c.checkSMSReminder(in.SMSReminder); err != nil {
		return 0, nil, err
	}
	atts, err := c.checkAttachments(in.Attachments)
	if err != nil {
		return 0, nil, err
	}
	named := slices.Concat(in.To, in.CC)
	found, err := c.host.Accounts(c.ctx, sdk.AccountQuery{IDs: append(slices.Clone(named), c.who.account)})
	if err != nil {
		return 0, nil, fromHost(err, "the recipients")
	}
	if missing := missingIDs(named, found, func(a sdk.Account) int64 { return a.ID }); len(missing) > 0 {
		return 0, nil, badRequest(codeUnknownAccount, "the county has no active account %s", joinIDs(missing))
	}
	byID := make(map[int64]sdk.Account, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	me := byID[c.who.account]
	m := mail{ID: sdk.NewestFirstID(c.now), FromAccountID: c.who.account, FromUnitID: c.who.unit, FromLogin: c.who.login, FromName: me.Name,
		To: in.To, CC: in.CC, Subject: in.Subject, Body: in.Body, Attachments: atts, SMSReminder: in.SMSReminder, Test: in.Test, SentAt: c.now.UTC()}
	var w writes
	if err := w.put(c, collMail, m.ID, m); err != nil {
		return 0, nil, fromHost(err, "the mail")
	}
	for _, id := range named {
		a := byID[id]
		field := "to"
		if slices.Contains(in.CC, id) {
			field = "cc"
		}
		cp := mailCopy{MailID: m.ID, AccountID: a.ID, UnitID: a.UnitID, Login: a.Login, Name: a.Name, Field: field, FromAccountID: m.FromAccountID,
			FromLogin: m.FromLogin, FromName: m.FromName, Subject: m.Subject, Attachments: len(m.Attachments), SentAt: m.SentAt}
		if err := w.put(c, collMailboxes, receiptID(m.ID, a.ID), cp); err != nil {
			w.undo(c)
			return 0, nil, fromHost(err, "a recipient's copy of the mail")
		}
	}
	from := m.FromName
	if from == "" {
		from = m.FromLogin
	}
	if err := c.notifyAccounts(named, "【邮件】"+m.Subject, from+"：\n"+m.Body, m.SMSReminder); err != nil {
		w.undo(c)
		return 0, nil, err
	}
	c.record(measureMailSent, m.FromUnitID, "mail.sent:"+m.ID)
	c.audit("mail.send", "mail", m.ID, nil, map[string]any{"subject": m.Subject, "to": m.To, "cc": m.CC, "sms_reminder": m.SMSReminder, "test": m.Test})
	return http.StatusCreated, m, nil
}

// loadMail reads mail id; a malformed or unknown id is mail_not_found.
func (c *call) loadMail(id string) (mail, error) {
	if !sdk.ValidNewestFirstID(id) {
		return mail{}, newError(http.StatusNotFound, codeMailNotFound, "no mail %s", id)
	}
	m, _, ok, err := readRecord[mail](c, collMail, id, "the mail")
	if err == nil && !ok {
		err = newError(http.StatusNotFound, codeMailNotFound, "no mail %s", id)
	}
	return m, err
}

// myCopy reads the caller's copy of mail id, ok false if it has none.
func (c *call) myCopy(id string) (mailCopy, int64, bool, error) {
	if c.who.account <= 0 || !sdk.ValidNewestFirstID(id) {
		return mailCopy{}, 0, false, nil
	}
	return readRecord[mailCopy](c, collMailboxes, receiptID(id, c.who.account), "your copy of the mail")
}

// visibleMail reads mail id if the caller sent or received it: mail is
// personal, so to anyone else — the county's admins included — it does
// not exist.
func (c *call) visibleMail(id string) (mail, *mailCopy, error) {
	m, err := c.loadMail(id)
	if err != nil {
		return mail{}, nil, err
	}
	if c.who.account > 0 && m.FromAccountID == c.who.account && !c.who.operator {
		cp, _, mine, err := c.myCopy(id)
		if err != nil || !mine {
			return m, nil, err
		}
		return m, &cp, nil
	}
	cp, _, mine, err := c.myCopy(id)
	if err != nil {
		return mail{}, nil, err
	}
	if !mine || c.who.operator {
		return mail{}, nil, newError(http.StatusNotFound, codeMailNotFound, "no mail %s", id)
	}
	return m, &cp, nil
}

// mailView is a mail as one of its readers sees it: a recipient with its
// own read_at.
type mailView struct {
	mail
	ReadAt *time.Time `json:"read_at,omitempty"`
}

// getMail: GET /mail/{id}, to its sender and its recipients. Reading it
// here marks nothing: POST …/read does.
func (c *call) getMail(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	m, cp, err := c.visibleMail(p["id"])
	if err != nil {
		return 0, nil, err
	}
	v := mailView{mail: m}
	if cp != nil {
		v.ReadAt = cp.ReadAt
	}
	return http.StatusOK, v, nil
}

// readMail: POST /mail/{id}/read, by a recipient: its read receipt, the
// first time only.
func (c *call) readMail(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	id := p["id"]
	for range 3 {
		cp, version, mine, err := c.myCopy(id)
		if err != nil {
			return 0, nil, err
		}
		if !mine || c.who.operator {
			return 0, nil, newError(http.StatusNotFound, codeMailNotFound, "no mail %s to you", id)
		}
		if cp.Read {
			return http.StatusOK, cp, nil
		}
		at := c.now.UTC()
		cp.Read, cp.ReadAt = true, &at
		_, err = c.host.Put(c.ctx, collMailboxes, receiptID(id, c.who.account), version, cp)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, nil, fromHost(err, "the read receipt")
		}
		c.record(measureMailRead, cp.UnitID, "mail.read:"+receiptID(id, c.who.account))
		return http.StatusOK, cp, nil
	}
	return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the receipt kept changing; retry")
}

// mailReceipts: GET /mail/{id}/receipts, to its sender: each recipient's
// read_at.
func (c *call) mailReceipts(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	m, err := c.loadMail(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if c.who.operator || m.FromAccountID != c.who.account {
		return 0, nil, newError(http.StatusNotFound, codeMailNotFound, "no mail %s sent by you", m.ID)
	}
	out := struct {
		MailID     string     `json:"mail_id"`
		Recipients int        `json:"recipients"`
		Read       int        `json:"read"`
		Receipts   []mailCopy `json:"receipts"`
	}{MailID: m.ID, Receipts: []mailCopy{}}
	copies, err := c.copiesOf(m.ID)
	if err != nil {
		return 0, nil, err
	}
	for _, cp := range copies {
		out.Receipts = append(out.Receipts, cp)
		if cp.Read {
			out.Read++
		}
	}
	out.Recipients = len(out.Receipts)
	slices.SortFunc(out.Receipts, func(a, b mailCopy) int { return int(a.AccountID - b.AccountID) })
	return http.StatusOK, out, nil
}

// mailList is a page of mail.
type mailList[T any] struct {
	Mail []T    `json:"mail"`
	Next string `json:"next,omitempty"`
}

// inbox: GET /mail/inbox, the caller's, newest first; ?unread=true keeps
// to what is not read yet.
func (c *call) inbox(params) (int, any, error) {
	copies, next, err := ownCopies[mailCopy](c, collMailboxes, "an inbox", "your inbox")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mailList[mailCopy]{Mail: copies, Next: next}, nil
}

// sentMail: GET /mail/sent, the caller's own, newest first.
func (c *call) sentMail(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "limit", "after")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of a unit sends mail")
	}
	limit, after, err := pageOf(q)
	if err != nil {
		return 0, nil, err
	}
	page, err := c.host.Query(c.ctx, collMail, sdk.Query{Where: map[string]string{"from_account_id": strconv.FormatInt(c.who.account, 10)}, Limit: limit, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "your sent mail")
	}
	out := mailList[mail]{Mail: make([]mail, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var m mail
		if err := json.Unmarshal(r.Document, &m); err != nil {
			return 0, nil, formatErr("mail", r.ID, err)
		}
		out.Mail = append(out.Mail, m)
	}
	return http.StatusOK, out, nil
}

// mailAttachment: GET /mail/{id}/attachments/{file}, a short-lived URL
// of one of the mail's files, to its sender and recipients.
func (c *call) mailAttachment(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	m, _, err := c.visibleMail(p["id"])
	if err != nil {
		return 0, nil, err
	}
	return c.attachmentURL(m.Attachments, p["file"])
}

// mailTests: GET /mail/tests, to the county's system_admin and
// operators: per unit, the test mail its accounts received from another
// unit's and sent to another unit's, and whether it passed (2 each way,
// each received one read).
func (c *call) mailTests(params) (int, any, error) {
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
		page, err := c.host.Query(c.ctx, collMail, sdk.Query{Where: map[string]string{"test": "true"}, Limit: 200, After: after})
		if err != nil {
			return 0, nil, fromHost(err, "the test mail")
		}
		for _, r := range page.Records {
			var m mail
			if err := json.Unmarshal(r.Document, &m); err != nil {
				return 0, nil, formatErr("mail", r.ID, err)
			}
			copies, err := c.copiesOf(m.ID)
			if err != nil {
				return 0, nil, err
			}
			read := map[int64]bool{}
			for _, cp := range copies {
				if cp.UnitID != m.FromUnitID {
					read[cp.UnitID] = read[cp.UnitID] || cp.Read
				}
			}
			if len(read) == 0 {
				continue
			}
			if t := byUnit[m.FromUnitID]; t != nil {
				t.Sent++
			}
			for unit, wasRead := range read {
				if t := byUnit[unit]; t != nil {
					t.Received++
					if wasRead {
						t.ReceivedRead++
					}
				}
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	return http.StatusOK, report.done(), nil
}

// copiesOf reads every recipient's copy of mail id.
func (c *call) copiesOf(id string) ([]mailCopy, error) {
	var out []mailCopy
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collMailboxes, sdk.Query{Where: map[string]string{"mail_id": id}, Limit: 200, After: after})
		if err != nil {
			return nil, fromHost(err, "the mail's receipts")
		}
		for _, r := range page.Records {
			var cp mailCopy
			if err := json.Unmarshal(r.Document, &cp); err != nil {
				return nil, formatErr("mail copy", r.ID, err)
			}
			out = append(out, cp)
		}
		if page.Next == "" {
			return out, nil
		}
		after = page.Next
	}
}

package oa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Error codes of notices and mail (docs/oa.md).
const (
	codeInvalidNotice   = "invalid_notice"
	codeInvalidMail     = "invalid_mail"
	codeUnknownAccount  = "unknown_account"
	codeNoticeNotFound  = "notice_not_found"
	codeMailNotFound    = "mail_not_found"
	codeSMSRemindersOff = "sms_reminders_off"
)

// Bounds of a notice or a mail.
const (
	maxSubject = 200
	// maxMessageBody is a notice's or a mail's text; the inbox and an
	// SMS carry its beginning.
	maxMessageBody = 20000
	// maxNamedRecipients bounds each list of ids a sender names.
	maxNamedRecipients = 1000
	// maxRecipients bounds the accounts one notice reaches, its units'
	// members included: a test notice to every unit of a large county.
	maxRecipients = 5000
	// notifyChunk is the most accounts the host notifies at once.
	notifyChunk = 1000
)

// Urgencies (紧急程度) of a notice, as of a document.
var messageUrgencies = []string{"平件", "加急", "特急"}

// attachment is a file of a notice or a mail, kept by the host.
type attachment struct {
	FileID      string `json:"file_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// cleanSubject checks a subject: 1 to maxSubject characters on one line.
func cleanSubject(code, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "", badRequest(code, "subject is not valid UTF-8")
	case n == 0:
		return "", badRequest(code, "subject is empty")
	case n > maxSubject:
		return "", badRequest(code, "subject has %d characters; at most %d", n, maxSubject)
	case strings.IndexFunc(s, hiddenInLine) >= 0:
		return "", badRequest(code, "subject holds a control, format or bidirectional character, or a line break")
	case strings.IndexFunc(s, visible) < 0:
		return "", badRequest(code, "subject shows nothing: it holds no visible letter, digit, punctuation or symbol")
	}
	return s, nil
}

// hiddenInLine reports a character that has no place in a one-line
// title: a control, a line or paragraph separator, an invisible format
// character or one that reorders the text around it. The platform's
// notifications refuse a subject with any of them.
func hiddenInLine(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Cf) || unicode.Is(unicode.Bidi_Control, r)
}

// visible reports a character that shows: a letter, digit, punctuation
// or symbol, save the blank fillers (U+3164, U+2800 …).
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) &&
		!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != '\u2800'
}

// cleanBody checks a text of at most maxMessageBody characters, lines
// and tabs allowed.
func cleanBody(code, s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "", badRequest(code, "body is not valid UTF-8")
	case n > maxMessageBody:
		return "", badRequest(code, "body has %d characters; at most %d", n, maxMessageBody)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		return "", badRequest(code, "body holds a control character")
	}
	return s, nil
}

// distinctIDs checks a list of ids the sender named and returns it
// without repeats, in order.
func distinctIDs(code, field string, ids []int64) ([]int64, error) {
	if len(ids) > maxNamedRecipients {
		return nil, badRequest(code, "%s lists %d ids; at most %d", field, len(ids), maxNamedRecipients)
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id <= 0 {
			return nil, badRequest(code, "%s: %d is not an id", field, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// checkAttachments finds the files the sender attached: each uploaded
// (POST /attachments, then its bytes), within the county's size and type
// limits, at most max_attachments of them.
func (c *call) checkAttachments(ids []string) ([]attachment, error) {
	if len(ids) > c.settings.MaxAttachments {
		return nil, badRequest(codeTooManyFiles, "%d attachments; the county takes at most %d", len(ids), c.settings.MaxAttachments)
	}
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return nil, badRequest(codeInvalidFile, "file %s is attached twice", id)
		}
		if id == "" || len(id) > 128 {
			return nil, badRequest(codeInvalidFile, "attachment %d is not a file id", i)
		}
	}
	out := make([]attachment, 0, len(ids))
	for _, id := range ids {
		if err := c.uploadedByCaller(id); err != nil {
			return nil, err
		}
		f, err := c.host.File(c.ctx, id)
		if errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrInvalid) {
			return nil, badRequest(codeFileNotFound, "there is no file %s; upload it with POST /attachments", id)
		}
		if err != nil {
			return nil, fromHost(err, "the attachment")
		}
		if err := c.allowedFile(f.ContentType, f.Size); err != nil {
			return nil, err
		}
		if f.Status != sdk.FileReady {
			return nil, newError(http.StatusConflict, codeFileNotReady, "the bytes of %s (%s) have not all arrived: PUT them to the upload URL first", id, f.Name)
		}
		out = append(out, attachment{FileID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size})
	}
	return out, nil
}

// uploadedByCaller refuses file id unless the caller declared it with
// POST /attachments: another's file, whatever its id, is none of theirs
// to send.
func (c *call) uploadedByCaller(id string) error {
	u, _, ok, err := readRecord[upload](c, collUploads, id, "the attachment's uploader")
	if err != nil {
		return err
	}
	if !ok || u.AccountID != c.who.account {
		return badRequest(codeFileNotFound, "you uploaded no file %s; upload it with POST /attachments", id)
	}
	return nil
}

// allowedFile checks a file against the county's limits, as a
// document's files are.
func (c *call) allowedFile(contentType string, size int64) error {
	if size > c.settings.MaxAttachmentBytes {
		return newError(http.StatusRequestEntityTooLarge, codeFileTooLarge, "the file has %d bytes; this county takes at most %d", size, c.settings.MaxAttachmentBytes)
	}
	if !slices.Contains(c.settings.AttachmentTypes, contentType) {
		return newError(http.StatusUnsupportedMediaType, codeFileTypeRefused, "files of type %q are not taken; this county takes %s", contentType, strings.Join(c.settings.AttachmentTypes, ", "))
	}
	return nil
}

// checkSMSReminder refuses an SMS reminder the county has not allowed:
// the host would refuse it too, after the notice was written.
func (c *call) checkSMSReminder(asked bool) error {
	if asked && !c.settings.SMSReminders {
		return newError(http.StatusForbidden, codeSMSRemindersOff, `the county has not allowed the module's SMS reminders (短信提醒); its admin enables them with the setting "sms_reminders": true`)
	}
	return nil
}

// writes are the records a sending wrote, to take back if it cannot
// finish: a notice or a mail is there for all its recipients or for none,
// so that the sender may simply send it again.
type writes []struct{ collection, id string }

// put creates record id in collection.
func (w *writes) put(c *call, collection, id string, doc any) error {
	if _, err := c.host.Put(c.ctx, collection, id, 0, doc); err != nil {
		return err
	}
	*w = append(*w, struct{ collection, id string }{collection, id})
	return nil
}

// undo deletes what w wrote, the copies before the notice or mail they
// belong to. A record it cannot delete stays, logged: its own read
// receipts and lists are then what is left of the failed sending.
func (w writes) undo(c *call) {
	for i := len(w) - 1; i >= 0; i-- {
		if err := c.host.Delete(c.ctx, w[i].collection, w[i].id, 1); err != nil {
			c.log.Error("a failed sending left a record behind", "collection", w[i].collection, "id", w[i].id, "request", c.req.RequestID, "err", err)
		}
	}
}

// notifyAccounts tells accounts of a new notice or mail in their inbox
// (and by SMS with the reminder), notifyChunk at a time.
func (c *call) notifyAccounts(accounts []int64, subject, body string, sms bool) error {
	for chunk := range slices.Chunk(accounts, notifyChunk) {
		n := sdk.Notice{AccountIDs: chunk, Kind: sdk.NoticeModule, Subject: clipRunes(subject, 200), Body: clipRunes(body, 2000), SMSReminder: sms}
		if err := c.host.Notify(c.ctx, n); err != nil {
			return fromHost(err, "the notification")
		}
	}
	return nil
}

// clipRunes cuts s to at most n characters.
func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// record counts measure for unit once per key; a retried request counts
// nothing more. A refusal of the figures fails the request no further:
// what it counts is done.
func (c *call) record(measure string, unit int64, key string) {
	if _, err := c.host.RecordMeasure(c.ctx, sdk.Measure{ID: measure, UnitID: unit, Key: key}); err != nil {
		c.log.Error("the county's measures refused a count", "measure", measure, "unit", unit, "key", key, "request", c.req.RequestID, "err", err)
	}
}

// ownCopies reads a page of the caller's own copies in coll (what a
// notice or a mail left for each recipient), newest first; ?unread=true
// keeps to those not read yet. has says what only an account of a unit
// has, what the list is called in a refusal.
func ownCopies[T any](c *call, coll, has, what string) ([]T, string, error) {
	q, err := parseQuery(c.req.Query, "unread", "limit", "after")
	if err != nil {
		return nil, "", err
	}
	if !c.who.staff() {
		return nil, "", forbidden("only an account of a unit has %s", has)
	}
	limit, after, err := pageOf(q)
	if err != nil {
		return nil, "", err
	}
	where := map[string]string{"account_id": strconv.FormatInt(c.who.account, 10)}
	switch q["unread"] {
	case "", "false":
	case "true":
		where["read"] = "false"
	default:
		return nil, "", badRequest(codeInvalidQuery, "unread is true or false")
	}
	page, err := c.host.Query(c.ctx, coll, sdk.Query{Where: where, Limit: limit, After: after})
	if err != nil {
		return nil, "", fromHost(err, what)
	}
	out := make([]T, 0, len(page.Records))
	for _, r := range page.Records {
		var v T
		if err := json.Unmarshal(r.Document, &v); err != nil {
			return nil, "", formatErr(coll, r.ID, err)
		}
		out = append(out, v)
	}
	return out, page.Next, nil
}

// readRecord reads record id of coll as T, with its version; found is
// false if there is none, or if id is no key the host holds (the ids
// here come from requests). what names it in an error.
func readRecord[T any](c *call, coll, id, what string) (v T, version int64, found bool, err error) {
	r, err := c.host.Get(c.ctx, coll, id)
	if errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrInvalid) {
		return v, 0, false, nil
	}
	if err != nil {
		return v, 0, false, fromHost(err, what)
	}
	if err := json.Unmarshal(r.Document, &v); err != nil {
		return v, 0, false, formatErr(coll, r.ID, err)
	}
	return v, r.Version, true, nil
}

// receiptID is the record id of account's copy of message id.
func receiptID(id string, account int64) string { return id + "." + strconv.FormatInt(account, 10) }

// pageOf reads a list's paging query: limit 1 to 100 (20 if absent),
// after a previous page's next.
func pageOf(q map[string]string) (int, string, error) {
	limit, err := pageLimit(q["limit"])
	if err != nil {
		return 0, "", err
	}
	after := q["after"]
	if len(after) > 128 {
		return 0, "", badRequest(codeInvalidQuery, "after is not a page's next")
	}
	return limit, after, nil
}

// formatErr names what a stored record could not be read as.
func formatErr(what, id string, err error) error { return fmt.Errorf("read %s %s: %w", what, id, err) }

package approval

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The platform knows no citizen or enterprise, so an applicant's own
// list of applications hangs on a secret the applicant holds: the
// applicant token, given with a first online application and shown that
// once. The module keeps only its hash, as the id of a record listing
// the applications made with it: whoever reads the records learns no
// token, and a token is found by hashing, never by comparing secrets.

// collApplicants keeps one record per applicant token, its id the
// token's hash (tokenKey).
const collApplicants = "applicants"

func applicantCollections() map[string]sdk.Collection {
	return map[string]sdk.Collection{collApplicants: {}}
}

const (
	// tokenBytes is a token's randomness: 160 bits, beyond guessing at
	// any rate the public routes allow.
	tokenBytes = 20
	// tokenGroup is the characters of a token's groups as shown
	// (XXXX-XXXX-…), which a person copies more easily.
	tokenGroup = 4
	// maxTokenApplications bounds the applications listed under one
	// token, and with it its record.
	maxTokenApplications = 500
	// Pages of an applicant's list.
	defaultApplicantPage = 20
	maxApplicantPage     = 50
	// joinAttempts bounds the retries of adding an application to a
	// token's list that another submission with it changed meanwhile.
	joinAttempts = 10
)

// codeApplicantNotFound answers every token the module cannot use: one
// it never gave, one mistyped, one of another county. They are told
// apart from nothing, so trying tokens teaches nothing.
const codeApplicantNotFound = "applicant_not_found"

// codeApplicantFull refuses an application with a token whose list is
// full.
const codeApplicantFull = "applicant_token_full"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newApplicantToken returns a fresh token as the applicant is shown it,
// and its key.
func newApplicantToken() (token, key string) {
	var b [tokenBytes]byte
	// crypto/rand.Read never fails (it panics if the system cannot give
	// randomness).
	_, _ = rand.Read(b[:])
	plain := tokenEncoding.EncodeToString(b[:])
	groups := make([]string, 0, len(plain)/tokenGroup)
	for i := 0; i < len(plain); i += tokenGroup {
		groups = append(groups, plain[i:i+tokenGroup])
	}
	return strings.Join(groups, "-"), keyOf(b[:])
}

// parseApplicantToken reads a token as an applicant may write it back:
// in either case, with or without its dashes and surrounding spaces. It
// returns the token's key, or false for anything that is not a token.
func parseApplicantToken(s string) (string, bool) {
	plain := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if len(plain) != tokenEncoding.EncodedLen(tokenBytes) {
		return "", false
	}
	b, err := tokenEncoding.DecodeString(plain)
	if err != nil || len(b) != tokenBytes || tokenEncoding.EncodeToString(b) != plain {
		return "", false
	}
	return keyOf(b), true
}

// keyOf is the id of the record of the token of bytes b: the hex SHA-256
// of its bytes. A token holds 160 random bits, so its hash needs no salt.
func keyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// applicantRecord is the record of a token: the ids of the applications
// made with it, in the order of ids (newest first).
type applicantRecord struct {
	Applications []string  `json:"applications"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// tokenHolder is the token an online application is made with: one the
// applicant holds (key only, its list as read at version), or a new one
// (token too, to show once).
type tokenHolder struct {
	key, token string
	version    int64
	list       applicantRecord
}

// listing is the token's list with application on it, written with the
// application (sdk.Submission's Also): at the version read, so that an
// application listed meanwhile refuses it rather than be lost.
func (h tokenHolder) listing(application string, now time.Time) sdk.RecordPut {
	rec := h.list
	if h.version == 0 {
		rec.CreatedAt = now
	}
	if i, found := slices.BinarySearch(rec.Applications, application); !found {
		rec.Applications = slices.Insert(slices.Clone(rec.Applications), i, application)
	}
	rec.UpdatedAt = now
	return sdk.RecordPut{Collection: collApplicants, ID: h.key, Version: h.version, Document: rec}
}

// onlineInput is the body of POST /public/applications: an application
// and, if the applicant holds one, their token.
type onlineInput struct {
	applicationInput
	ApplicantToken string `json:"applicant_token"`
}

// onlineReceipt answers an online application: its receipt, the token
// if it is new, and whether the application is on the token's list.
type onlineReceipt struct {
	receiptView
	ApplicantToken string `json:"applicant_token,omitempty"`
	Listed         bool   `json:"listed"`
}

func applicantRoutes() []route {
	return []route{
		{"POST", "/public/applicant/applications", (*call).applicantApplications},
	}
}

// unknownApplicant is the one refusal of a token the module cannot use.
func unknownApplicant() *apiError {
	return newError(http.StatusNotFound, codeApplicantNotFound, "no applicant holds that token in this county; check it, or apply without one to be given a new one")
}

// holderOf is the token an online application goes under: the one given,
// which must be one the module gave in this county and have room, or a
// new one if none is given. Nothing is written.
func (c *call) holderOf(given string) (tokenHolder, error) {
	if given == "" {
		token, key := newApplicantToken()
		return tokenHolder{key: key, token: token}, nil
	}
	key, ok := parseApplicantToken(given)
	if !ok {
		return tokenHolder{}, unknownApplicant()
	}
	version, rec, err := c.readApplicant(key)
	if errors.Is(err, sdk.ErrNotFound) {
		return tokenHolder{}, unknownApplicant()
	}
	if err != nil {
		return tokenHolder{}, err
	}
	if len(rec.Applications) >= maxTokenApplications {
		return tokenHolder{}, newError(http.StatusConflict, codeApplicantFull, "this token lists %d applications, the most it may; apply without it to be given a new one", maxTokenApplications)
	}
	return tokenHolder{key: key, version: version, list: rec}, nil
}

// loadApplicant reads the record of key, refusing a key without one as
// any unknown token.
func (c *call) loadApplicant(key string) (applicantRecord, error) {
	_, rec, err := c.readApplicant(key)
	if errors.Is(err, sdk.ErrNotFound) {
		return applicantRecord{}, unknownApplicant()
	}
	return rec, err
}

func (c *call) readApplicant(key string) (int64, applicantRecord, error) {
	r, err := c.host.Get(c.ctx, collApplicants, key)
	if errors.Is(err, sdk.ErrNotFound) {
		return 0, applicantRecord{}, err
	}
	if err != nil {
		return 0, applicantRecord{}, fromHost(err, "the applicant's list")
	}
	var rec applicantRecord
	if err := json.Unmarshal(r.Document, &rec); err != nil {
		return 0, applicantRecord{}, fmt.Errorf("read applicant %s: %w", key, err)
	}
	return r.Version, rec, nil
}

// applicantQuery is the body of POST /public/applicant/applications.
type applicantQuery struct {
	Token string `json:"token"`
	// After is the next of the page before; Limit the page's length.
	After string `json:"after"`
	Limit int    `json:"limit"`
}

// applicantItem is one application as its applicant's list shows it.
type applicantItem struct {
	Number   string `json:"number"`
	ItemCode string `json:"item_code"`
	ItemName string `json:"item_name"`
	Channel  string `json:"channel"`
	Status   string `json:"status"`
	// Decision is the reply once made: approved, denied, or rejected
	// (不予受理); Reasons those of a refusal.
	Decision  string     `json:"decision,omitempty"`
	Reasons   string     `json:"reasons,omitempty"`
	Submitted time.Time  `json:"submitted_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// decided are the statuses that are a reply to the applicant.
var decided = []string{statusApproved, statusDenied, statusRejected}

// applicantApplications lists the applications made with a token, newest
// first, a page at a time: only those, whoever asks.
func (c *call) applicantApplications(params) (int, any, error) {
	var in applicantQuery
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	limit := in.Limit
	switch {
	case limit == 0:
		limit = defaultApplicantPage
	case limit < 1 || limit > maxApplicantPage:
		return 0, nil, badRequest(codeInvalidJSON, "limit: from 1 to %d, not %d", maxApplicantPage, in.Limit)
	}
	if in.After != "" && !sdk.ValidNewestFirstID(in.After) {
		return 0, nil, badRequest(codeInvalidJSON, "after: the next of the page before, not %q", in.After)
	}
	key, ok := parseApplicantToken(in.Token)
	if !ok {
		return 0, nil, unknownApplicant()
	}
	rec, err := c.loadApplicant(key)
	if err != nil {
		return 0, nil, err
	}
	start, _ := slices.BinarySearch(rec.Applications, in.After)
	if in.After != "" && start < len(rec.Applications) && rec.Applications[start] == in.After {
		start++
	}
	ids := rec.Applications[start:]
	out := struct {
		Applications []applicantItem `json:"applications"`
		Next         string          `json:"next,omitempty"`
	}{Applications: []applicantItem{}}
	if len(ids) > limit {
		ids = ids[:limit]
		out.Next = ids[limit-1]
	}
	for _, id := range ids {
		l, err := c.loadApplication(id)
		if err != nil {
			return 0, nil, fmt.Errorf("applicant %s lists application %s: %w", key, id, err)
		}
		item := applicantItem{Number: l.Number, ItemCode: l.ItemCode, ItemName: l.ItemName, Channel: l.Channel, Status: l.Status,
			Reasons: l.Reasons, Submitted: l.SubmittedAt, DecidedAt: l.DecidedAt}
		if slices.Contains(decided, l.Status) {
			item.Decision = l.Status
		}
		out.Applications = append(out.Applications, item)
	}
	return http.StatusOK, out, nil
}

package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// collApplications keeps the county's applications (办件), one record per
// application under a newest-first id.
const collApplications = "applications"

func applicationCollections() map[string]sdk.Collection {
	return map[string]sdk.Collection{
		// Staff list their department's applications by status.
		collApplications: {Indexed: []string{"unit_id", "status"}},
	}
}

// workflowApplication is the local code of the application's workflow:
// the lead department's clerk examines it (受理审查), its leader decides
// (审批决定). The instance is started with the item's promised limit, so
// the decision falls due when the item promises.
const workflowApplication = "application"

// A joint item (联合审批) is accepted with accept_joint, which distributes
// to every department of the item a review (workflowReview) with the
// department's own limit, and waits at reply for the lead department's
// leader to give the one answer once all have decided: the join is the
// module's (decide), which reads the departments' reviews from the
// engine, so that no reply goes out while one is pending and no approval
// when one has refused.
//
// Every step is mandatory: the module keeps the application's status,
// reasons and measures at each, so the platform's task API refuses them
// (module_step) and a county may not remove them; an acceptance or a
// decision done past the module would leave the application behind the
// engine for good.
const applicationWorkflow = `{"name":"行政审批办件","version":3,"start":"accept","time_limit":{"working_days":20},"steps":[
{"id":"accept","name":"受理审查","assignee":{"role":"clerk","relative":"subject_unit"},"time_limit":{"working_days":5},
 "mandatory":true,
 "actions":[{"name":"accept","label":"受理","to":"decide"},{"name":"accept_joint","label":"受理（联合审批）","to":"reply","distribute":"review"},
  {"name":"reject","label":"不予受理","to":"end"}]},
{"id":"decide","name":"审批决定","assignee":{"relative":"subject_unit_leader"},
 "mandatory":true,
 "actions":[{"name":"approve","label":"准予","to":"end"},{"name":"deny","label":"不予","to":"end"}]},
{"id":"reply","name":"统一答复","assignee":{"relative":"subject_unit_leader"},
 "mandatory":true,
 "actions":[{"name":"approve","label":"准予","to":"end"},{"name":"deny","label":"不予","to":"end"}]}]}`

// workflowReview is one department's review of a joint application, its
// subject unit the department, its limit the department's own.
const workflowReview = "review"

const reviewWorkflow = `{"name":"联合审批部门审查","version":2,"start":"review","time_limit":{"working_days":20},"steps":[
{"id":"review","name":"部门审查","assignee":{"relative":"subject_unit_leader"},"mandatory":true,
 "actions":[{"name":"approve","label":"同意","to":"end"},{"name":"deny","label":"不同意","to":"end"}]}]}`

// Channels an application came by.
const (
	channelOnline  = "online"
	channelCounter = "counter"
)

// Statuses of an application.
const (
	statusSubmitted  = "submitted"  // waiting for the lead department's examination
	statusCorrecting = "correcting" // 补正: waiting on the applicant, its clock stopped
	statusAccepted   = "accepted"   // 受理: waiting for the decision
	statusRejected   = "rejected"   // 不予受理
	statusApproved   = "approved"   // 准予
	statusDenied     = "denied"     // 不予
)

// Error codes of applications.
const (
	codeInvalidApplication  = "invalid_application"
	codeApplicationNotFound = "application_not_found"
	codeMissingMaterials    = "missing_materials"
	codeNotYourDepartment   = "not_your_department"
	codeIllegalTransition   = "illegal_transition"
	codeDepartmentsPending  = "departments_pending"
	codeDepartmentDenied    = "department_denied"
)

// Measures of applications, per lead department and the day decided.
const (
	measureDecided       = "approval.applications.decided"
	measureDecidedOnline = "approval.applications.decided_online"
	measureDecidedOnTime = "approval.applications.decided_on_time"
	measureOverdue       = "approval.applications.overdue"
	// measureHandling sums the working time decisions took, in
	// hundredths of a working day: the average is it over decided, /100.
	measureHandling = "approval.applications.handling_centidays"
)

func applicationMeasures() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureDecided, Label: sdk.Text{ZH: "办结的审批申请数", EN: "Applications decided"},
			Counts: sdk.Text{ZH: "一件作出准予或不予决定的申请（牵头部门，决定之日），或联合审批中一个参与部门作出的审查决定（该部门，决定之日）", EN: "one application approved or denied (its lead department, the day decided), or a reviewing department's decision on a joint one (that department, the day it decided)"}},
		{ID: measureDecidedOnline, Label: sdk.Text{ZH: "办结的网上申请数", EN: "Online applications decided"},
			Counts: sdk.Text{ZH: "一件网上提交并已作出决定的申请；网上办理率 = 本数 / 办结的审批申请数", EN: "one application made online and decided; the online handling rate is this over applications decided"}},
		{ID: measureDecidedOnTime, Label: sdk.Text{ZH: "按时办结的审批申请数", EN: "Applications decided on time"},
			Counts: sdk.Text{ZH: "一件在承诺时限内（参与部门：在本部门时限内；不计补正等待）作出决定的申请；按时办结率 = 本数 / 办结的审批申请数", EN: "one application decided within the promised limit (a reviewing department: within its own), waiting on the applicant not counted; the on-time rate is this over applications decided"}},
		{ID: measureOverdue, Label: sdk.Text{ZH: "超期办结的审批申请数", EN: "Applications decided late"},
			Counts: sdk.Text{ZH: "一件超过承诺时限（参与部门：本部门时限；不计补正等待）才作出决定的申请", EN: "one application decided after the promised limit (a reviewing department: its own), waiting on the applicant not counted"}},
		{ID: measureHandling, Label: sdk.Text{ZH: "办结用时合计（0.01个工作日）", EN: "Handling time, applications decided (0.01 working days)"},
			Counts: sdk.Text{ZH: "办结的申请自提交至决定所用工作时间的百分之一个工作日（不计补正等待）；平均办理工作日 = 本数 / 办结的审批申请数 / 100", EN: "0.01 working day a decided application took from submission to decision, not counting waits on the applicant; average working days = this / decided / 100"}},
	}
}

// Bounds of an application's fields, in characters.
const (
	maxApplicant = 100
	maxIDNumber  = 32
	maxContact   = 100
	maxReasons   = 1000
)

// idTypes are the kinds of identification an applicant gives.
var idTypes = []string{"居民身份证", "统一社会信用代码", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证"}

// application is one application (办件) for an item.
type application struct {
	ItemCode string `json:"item_code"`
	ItemName string `json:"item_name"`
	// UnitID is the item's lead department, which examines, decides and
	// replies.
	UnitID    int64     `json:"unit_id"`
	Applicant applicant `json:"applicant"`
	Channel   string    `json:"channel"`
	// Materials are the names of the item's materials handed in.
	Materials []string `json:"materials"`
	// Files are the files the applicant handed in for them (materials.go).
	Files []materialFile `json:"files,omitempty"`
	// Missing are the materials the applicant was asked for (补正), and
	// ResumeTo the status the application returns to once supplied.
	Missing  []string `json:"missing,omitempty"`
	ResumeTo string   `json:"resume_to,omitempty"`
	// Originals are the materials whose originals the lead department's
	// staff saw at the counter when the applicant supplied them: they
	// need no file.
	Originals []string `json:"originals,omitempty"`
	// Joint: several departments review it (联合审批).
	Joint  bool   `json:"joint,omitempty"`
	Status string `json:"status"`
	// Reasons are the reasons of a refusal (不予受理, 不予).
	Reasons string `json:"reasons,omitempty"`
	// InstanceID is its workflow instance, once the department examines.
	InstanceID int64 `json:"instance_id,omitempty"`
	// ExaminedBy is the login of the clerk whose examination claimed it
	// at ExaminedAt and has not saved its outcome yet: their retry
	// finishes it, anyone else's only once the claim is abandoned
	// (takeoverAfter).
	ExaminedBy  string     `json:"examined_by,omitempty"`
	ExaminedAt  *time.Time `json:"examined_at,omitempty"`
	Number      string     `json:"number"`
	SubmittedAt time.Time  `json:"submitted_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	// OnTime says the decision was within the promised limit, waiting
	// on the applicant not counted.
	OnTime    *bool     `json:"on_time,omitempty"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// applicant is who applies: a citizen or an enterprise.
type applicant struct {
	Name     string `json:"name"`
	IDType   string `json:"id_type"`
	IDNumber string `json:"id_number"`
	Contact  string `json:"contact"`
}

// applicationInput is the body of POST /applications and POST
// /public/applications.
type applicationInput struct {
	ItemCode  string    `json:"item_code"`
	Applicant applicant `json:"applicant"`
	Materials []string  `json:"materials"`
}

func applicationRoutes() []route {
	return []route{
		{"POST", "/public/applications", (*call).applyOnline},
		{"POST", "/public/applications/{number}/query", (*call).publicApplication},
		{"POST", "/public/applications/{number}/supplements", (*call).supplement},
		{"POST", "/applications", (*call).applyAtCounter},
		{"GET", "/applications", (*call).listApplications},
		{"GET", "/applications/{id}", (*call).staffApplication},
		{"POST", "/applications/{id}/acceptance", (*call).examine},
		{"POST", "/applications/{id}/supplements", (*call).supplementAtCounter},
		{"POST", "/applications/{id}/decision", (*call).decide},
		{"POST", "/applications/{id}/review", (*call).review},
		{"GET", "/applications/{id}/reviews", (*call).reviews},
	}
}

// check cleans in against the item it names and returns the item.
func (c *call) checkApplication(in *applicationInput) (itemView, error) {
	it, err := c.loadItem(strings.TrimSpace(in.ItemCode))
	if err != nil {
		return itemView{}, err
	}
	return it, c.checkAgainst(in, it)
}

// keepsItems says whether the request's items are kept (itemcache.go):
// the host names its county and checks a submission's unchanged
// records.
func (c *call) keepsItems() bool {
	return c.items != nil && c.req.County != "" && c.host.ChecksUnchanged()
}

// checkOnline is checkApplication with the item kept for the county if
// one is, and keeps the item read if none is. A refusal is always
// checked against the item as it is: an application the kept item
// refuses is checked again against the item read.
func (c *call) checkOnline(in *applicationInput) (itemView, error) {
	if !c.keepsItems() {
		return c.checkApplication(in)
	}
	k := itemKey{county: c.req.County, code: strings.ToUpper(strings.TrimSpace(in.ItemCode))}
	if it, ok := c.items.get(k); ok && c.checkAgainst(in, it) == nil {
		return it, nil
	}
	return c.checkFresh(in, k)
}

// checkFresh checks in against its item read from the host, and keeps
// the item under k.
func (c *call) checkFresh(in *applicationInput, k itemKey) (itemView, error) {
	c.items.drop(k)
	it, err := c.loadItem(k.code)
	if err != nil {
		return itemView{}, err
	}
	c.items.keep(k, it)
	return it, c.checkAgainst(in, it)
}

// checkAgainst cleans in against it, the item it names.
func (c *call) checkAgainst(in *applicationInput, it itemView) error {
	a := &in.Applicant
	var problems []string
	for _, f := range []struct {
		name  string
		value *string
		max   int
	}{{"applicant.name", &a.Name, maxApplicant}, {"applicant.id_number", &a.IDNumber, maxIDNumber}, {"applicant.contact", &a.Contact, maxContact}} {
		*f.value = strings.TrimSpace(*f.value)
		if msg := checkText(*f.value, f.max); *f.value == "" || msg != "" {
			problems = append(problems, fmt.Sprintf("%s: required, at most %d characters, no control characters", f.name, f.max))
		}
	}
	if !slices.Contains(idTypes, a.IDType) {
		problems = append(problems, fmt.Sprintf("applicant.id_type: one of %s", strings.Join(idTypes, "、")))
	}
	if len(problems) > 0 {
		return badRequest(codeInvalidApplication, "%s", strings.Join(problems, "; "))
	}
	missing, err := missingMaterials(it.item, in.Materials)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return badRequest(codeMissingMaterials, "item %s requires %s", it.Code, strings.Join(missing, "、"))
	}
	return nil
}

// missingMaterials are the item's materials not among given, which must
// name only the item's materials, each once.
func missingMaterials(it item, given []string) ([]string, error) {
	seen := map[string]bool{}
	for _, g := range given {
		if !slices.ContainsFunc(it.Materials, func(m material) bool { return m.Name == g }) {
			return nil, badRequest(codeInvalidApplication, "materials: item %s requires no %q", it.Code, g)
		}
		if seen[g] {
			return nil, badRequest(codeInvalidApplication, "materials: %q is named twice", g)
		}
		seen[g] = true
	}
	var missing []string
	for _, m := range it.Materials {
		if !seen[m.Name] {
			missing = append(missing, m.Name)
		}
	}
	return missing, nil
}

// checkText says what is wrong with s, or nothing.
func checkText(s string, max int) string {
	if len([]rune(s)) > max {
		return "too long"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "control characters"
	}
	return ""
}

// applyOnline takes an application from anyone on the county's public
// pages (网上申请) and answers its receipt: the number and the query code,
// shown this once; and lists it under the applicant's token
// (applicants.go).
func (c *call) applyOnline(params) (int, any, error) {
	var in onlineInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	it, err := c.checkOnline(&in.applicationInput)
	if err != nil {
		return 0, nil, err
	}
	holder, err := c.holderOf(in.ApplicantToken)
	if err != nil {
		return 0, nil, err
	}
	reread := false
	for attempt := 1; ; attempt++ {
		status, receipt, err := c.submit(it, in.applicationInput, channelOnline, &holder)
		if errors.Is(err, sdk.ErrStale) && !reread {
			// The item changed since it was read: the application is
			// checked again against it as it is now, once.
			reread = true
			if it, err = c.checkFresh(&in.applicationInput, itemKey{county: c.req.County, code: it.read.ID}); err != nil {
				return 0, nil, err
			}
			continue
		}
		if errors.Is(err, sdk.ErrStale) {
			return 0, nil, newError(http.StatusConflict, codeItemChanged, "item %s changed while the application was checked against it; apply again", it.Code)
		}
		if errors.Is(err, errListChanged) && attempt < joinAttempts {
			// Another application was listed under the token meanwhile:
			// this one, not written, goes on the list as it is now.
			if holder, err = c.holderOf(in.ApplicantToken); err != nil {
				return 0, nil, err
			}
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		return status, onlineReceipt{receiptView: receipt, ApplicantToken: holder.token, Listed: true}, nil
	}
}

// errListChanged is a submission refused because its applicant's list
// changed since it was read.
var errListChanged = errors.New("the applicant's list changed meanwhile")

// applyAtCounter records an application handed in at the counter (窗口)
// by a member of the item's lead department, who examines it at once.
func (c *call) applyAtCounter(params) (int, any, error) {
	if !c.who.staff() {
		return 0, nil, forbidden("applications are recorded at the counter by the county's staff")
	}
	var in applicationInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	it, err := c.checkApplication(&in)
	if err != nil {
		return 0, nil, err
	}
	if it.UnitID != c.who.unit {
		return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "item %s is handled by unit %d, not yours", it.Code, it.UnitID)
	}
	return c.submit(it, in, channelCounter, nil)
}

// receiptView is what an applicant keeps.
type receiptView struct {
	ID      string `json:"id"`
	Number  string `json:"number"`
	Code    string `json:"code"`
	Channel string `json:"channel"`
}

// submit writes the application and its receipt and starts its workflow
// for the lead department, with the item's promised limit, in one call of
// the host: the applicant's clock starts when they submit, and the wait
// for examination is supervised like any step. Online, the public route's
// anonymous caller starts it (the manifest's public_start); at the
// counter, the staff member recording it. The module's audit entry and,
// online, the application's place on holder's list are written with it.
func (c *call) submit(it itemView, in applicationInput, channel string, holder *tokenHolder) (int, receiptView, error) {
	id := sdk.NewestFirstID(c.now)
	a := application{ItemCode: it.Code, ItemName: it.Name, UnitID: it.UnitID, Joint: it.item.Joint(), Applicant: in.Applicant, Channel: channel,
		Materials: in.Materials, Status: statusSubmitted, SubmittedAt: c.now, UpdatedBy: c.req.Caller.Login, UpdatedAt: c.now}
	s := sdk.Submission{Collection: collApplications, ID: id, Document: a, NumberField: "number",
		Workflow: workflowApplication, Start: applicationStart(id, a, it.PromisedDays), InstanceField: "instance_id",
		// After is the application as written, its number and instance in it.
		Audit: &sdk.AuditEntry{Action: "application.submit", ObjectType: "application", ObjectID: id}}
	if holder != nil {
		s.Also = []sdk.RecordPut{holder.listing(id, c.now)}
		if c.keepsItems() {
			// The item may be one kept: written only if it is still
			// the item checked.
			s.Unchanged = []sdk.RecordVersion{it.read}
		}
	}
	done, err := c.host.Submit(c.ctx, s)
	if errors.Is(err, sdk.ErrStale) {
		return 0, receiptView{}, err
	}
	if holder != nil && holder.token == "" && errors.Is(err, sdk.ErrConflict) {
		// Answered as any conflict once the attempts are spent.
		return 0, receiptView{}, fmt.Errorf("%w: %w", errListChanged, c.flowRefused(err))
	}
	if err != nil {
		return 0, receiptView{}, c.flowRefused(err)
	}
	return http.StatusCreated, receiptView{ID: id, Number: done.Receipt.Number, Code: done.Receipt.Code, Channel: channel}, nil
}

// applicationStart are the options application a (record id) starts its
// workflow with: for its lead department, within the item's promise.
func applicationStart(id string, a application, promisedDays int) sdk.StartOptions {
	return sdk.StartOptions{Title: a.ItemName + "：" + a.Applicant.Name, Reference: id, SubjectUnitID: a.UnitID, TimeLimitDays: promisedDays}
}

// statuses are every status of an application.
var statuses = []string{statusSubmitted, statusCorrecting, statusAccepted, statusRejected, statusApproved, statusDenied}

// listApplications lists a department's applications, newest first, one
// page: to its staff their own department's (unit_id, if given, must be
// theirs), to the county's admins any department's or all.
func (c *call) listApplications(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit_id", "status", "after", "limit")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() && !c.who.county {
		return 0, nil, forbidden("the county's staff list their department's applications")
	}
	where := map[string]string{}
	if !c.who.county {
		where["unit_id"] = strconv.FormatInt(c.who.unit, 10)
	}
	if s, ok := q["unit_id"]; ok {
		id, err := positiveID("unit_id", s)
		if err != nil {
			return 0, nil, err
		}
		if !c.who.county && id != c.who.unit {
			return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "unit %d's applications are its own staff's, not yours", id)
		}
		where["unit_id"] = strconv.FormatInt(id, 10)
	}
	if s, ok := q["status"]; ok {
		if !slices.Contains(statuses, s) {
			return 0, nil, badRequest(codeInvalidQuery, "status %q is not one of %s", s, strings.Join(statuses, ", "))
		}
		where["status"] = s
	}
	limit, err := pageLimit(q["limit"])
	if err != nil {
		return 0, nil, err
	}
	page, err := c.host.Query(c.ctx, collApplications, sdk.Query{Where: where, Limit: limit, After: q["after"]})
	if err != nil {
		return 0, nil, fromHost(err, "the applications")
	}
	out := struct {
		Applications []loaded `json:"applications"`
		Next         string   `json:"next,omitempty"`
	}{Applications: make([]loaded, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		l := loaded{ID: r.ID, Version: r.Version}
		if err := json.Unmarshal(r.Document, &l.application); err != nil {
			return 0, nil, fmt.Errorf("read application %s: %w", r.ID, err)
		}
		out.Applications = append(out.Applications, l)
	}
	return http.StatusOK, out, nil
}

// loaded is an application and its record's version.
type loaded struct {
	application
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

func (c *call) loadApplication(id string) (loaded, error) {
	if !sdk.ValidNewestFirstID(id) {
		return loaded{}, newError(http.StatusNotFound, codeApplicationNotFound, "the county has no application %q", id)
	}
	r, err := c.host.Get(c.ctx, collApplications, id)
	if errors.Is(err, sdk.ErrNotFound) {
		return loaded{}, newError(http.StatusNotFound, codeApplicationNotFound, "the county has no application %q", id)
	}
	if err != nil {
		return loaded{}, fromHost(err, "the application")
	}
	l := loaded{ID: id, Version: r.Version}
	if err := json.Unmarshal(r.Document, &l.application); err != nil {
		return loaded{}, fmt.Errorf("read application %s: %w", id, err)
	}
	return l, nil
}

// byReceipt finds the application of a receipt. A wrong code and an
// unknown number are answered alike, and the host's limits on public
// routes slow anyone guessing.
func (c *call) byReceipt(number, code string) (loaded, error) {
	unknown := newError(http.StatusNotFound, codeApplicationNotFound, "no application has receipt %q with that query code", number)
	if code == "" {
		return loaded{}, unknown
	}
	rec, err := c.host.LookupReceipt(c.ctx, number, code)
	if errors.Is(err, sdk.ErrNotFound) || errors.Is(err, sdk.ErrInvalid) || (err == nil && rec.Collection != collApplications) {
		return loaded{}, unknown
	}
	if err != nil {
		return loaded{}, fromHost(err, "the receipt")
	}
	return c.loadApplication(rec.RecordID)
}

// publicView is what the applicant sees of their application.
type publicView struct {
	Number    string     `json:"number"`
	ItemName  string     `json:"item_name"`
	Channel   string     `json:"channel"`
	Status    string     `json:"status"`
	Missing   []string   `json:"missing,omitempty"`
	Reasons   string     `json:"reasons,omitempty"`
	Submitted time.Time  `json:"submitted_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Files are the files the applicant asked to hand in (whether their
	// bytes arrived is the host's, shown to staff); never their bytes.
	Files []materialFile `json:"files,omitempty"`
}

// queryInput is the body of POST /public/applications/{number}/query:
// the query code goes in the body, never in a URL, which proxies, logs
// and browsers' histories keep.
type queryInput struct {
	Code string `json:"code"`
}

// publicApplication answers the applicant's query with the receipt's
// number and code.
func (c *call) publicApplication(p params) (int, any, error) {
	var in queryInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	l, err := c.byReceipt(p["number"], in.Code)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, publicView{Number: l.Number, ItemName: l.ItemName, Channel: l.Channel, Status: l.Status, Missing: l.Missing,
		Reasons: l.Reasons, Submitted: l.SubmittedAt, DecidedAt: l.DecidedAt, Files: l.Files}, nil
}

// supplementInput is the body of POST /public/applications/{number}/supplements.
type supplementInput struct {
	Code      string   `json:"code"`
	Materials []string `json:"materials"`
}

// supplement takes the materials the applicant was asked for (补正) and
// starts the application's clock again.
func (c *call) supplement(p params) (int, any, error) {
	var in supplementInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	l, err := c.byReceipt(p["number"], in.Code)
	if err != nil {
		return 0, nil, err
	}
	if err := c.supplied(&l, in.Materials, "申请人已补正材料", false); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, publicView{Number: l.Number, ItemName: l.ItemName, Channel: l.Channel, Status: l.Status, Submitted: l.SubmittedAt}, nil
}

// counterSupplementInput is the body of POST /applications/{id}/supplements.
type counterSupplementInput struct {
	Materials []string `json:"materials"`
}

// supplementAtCounter records the materials asked for that the applicant
// handed in at the lead department's counter, by its clerk (or leader:
// the engine lets only an assignee of a suspended task resume, which
// after a department's 补正 on a joint application is its leader alone),
// and starts the application's clock again as the applicant's own
// supplying does.
func (c *call) supplementAtCounter(p params) (int, any, error) {
	if !c.who.staff() {
		return 0, nil, forbidden("the lead department's clerks record materials handed in at the counter")
	}
	var in counterSupplementInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if c.who.unit != l.UnitID {
		return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "application %s is for unit %d, not yours", l.Number, l.UnitID)
	}
	if !c.who.clerk && !c.who.leader {
		return 0, nil, forbidden("the lead department's clerks (or its leaders) record materials handed in at the counter")
	}
	if l.ResumeTo == statusAccepted && !c.who.leader {
		// The engine resumes for an assignee of a suspended task only,
		// and a joint application's are all leaders' (the reply, the
		// reviews): told here, before anything is asked of it.
		return 0, nil, forbidden("application %s waits on materials a department asked for during its review: the lead department's leader records them", l.Number)
	}
	if err := c.supplied(&l, in.Materials, "窗口收取补正材料", true); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, l, nil
}

// supplied takes materials for those application l asks for and
// resumes its workflow, saying comment. The applicant supplies each with
// a file handed in since they were asked for; at the counter the staff
// see their originals (atCounter), which the application keeps. The
// engine resumes first, so that a resumption it refuses (the caller no
// assignee) changes nothing; a retry after the host failed to save finds
// the workflow resumed already and saves.
func (c *call) supplied(l *loaded, materials []string, comment string, atCounter bool) error {
	if l.Status != statusCorrecting {
		return newError(http.StatusConflict, codeIllegalTransition, "application %s is %s: no material is asked for", l.Number, l.Status)
	}
	for _, m := range l.Missing {
		if !slices.Contains(materials, m) {
			return missingMaterialsError("still missing: ", l.Missing)
		}
	}
	if !atCounter {
		if without := l.withoutFile(l.Missing); len(without) > 0 {
			return missingMaterialsError("hand in a file of each material asked for first (POST …/files); none since the request for: ", without)
		}
	}
	it, err := c.loadItem(l.ItemCode)
	if err != nil {
		return err
	}
	// What was asked for replaces what was handed in under its name (a
	// copy refused as illegible is supplied again).
	all := append(slices.DeleteFunc(slices.Clone(l.Materials), func(m string) bool { return slices.Contains(l.Missing, m) }), materials...)
	if _, err := missingMaterials(it.item, all); err != nil {
		return err
	}
	if _, err := c.host.ResumeWorkflow(c.ctx, l.InstanceID, comment); err != nil && !errors.Is(err, sdk.ErrConflict) {
		return c.flowRefused(err)
	}
	before := l.application
	back := l.ResumeTo
	if back == "" {
		back = statusSubmitted
	}
	if atCounter {
		l.Originals = append(l.Originals, l.Missing...)
	}
	l.Materials, l.Missing, l.Status, l.ResumeTo, l.UpdatedBy, l.UpdatedAt = all, nil, back, "", c.req.Caller.Login, c.now
	rec, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application)
	if err != nil {
		return fromHost(err, "the application")
	}
	l.Version = rec.Version
	c.audit("application.supplement", "application", l.ID, before, l.application)
	return nil
}

// staffApplication shows an application to its lead department's staff
// and the county's admins.
func (c *call) staffApplication(p params) (int, any, error) {
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.county && c.who.unit != l.UnitID {
		return 0, nil, newError(http.StatusNotFound, codeApplicationNotFound, "the county has no application %q", p["id"])
	}
	return http.StatusOK, l, nil
}

// examineInput is the body of POST /applications/{id}/acceptance.
type examineInput struct {
	// Decision is accept (受理), reject (不予受理, with reasons) or correct
	// (补正, naming the missing materials).
	Decision string   `json:"decision"`
	Reasons  string   `json:"reasons"`
	Missing  []string `json:"missing"`
}

// examine is the lead department's clerk's examination (受理审查).
func (c *call) examine(p params) (int, any, error) {
	if !c.who.staff() {
		return 0, nil, forbidden("the lead department's clerks examine applications")
	}
	var in examineInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	// A claim abandoned is the department's again, and the county
	// admin's to finish (what the engine did needs no clerk's role).
	mine := l.ExaminedBy == c.who.login
	abandoned := l.ExaminedBy != "" && !mine && abandonedSince(l.ExaminedAt, c.now)
	if c.who.unit != l.UnitID && !(abandoned && c.who.county) {
		return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "application %s is for unit %d, not yours", l.Number, l.UnitID)
	}
	if l.Status != statusSubmitted {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s is %s, not waiting for examination", l.Number, l.Status)
	}
	in.Reasons = strings.TrimSpace(in.Reasons)
	it, err := c.loadItem(l.ItemCode)
	if err != nil {
		return 0, nil, err
	}
	switch in.Decision {
	case "accept":
	case "reject":
		if in.Reasons == "" || checkText(in.Reasons, maxReasons) != "" {
			return 0, nil, badRequest(codeInvalidApplication, "reasons: a refusal gives its reasons, at most %d characters", maxReasons)
		}
	case "correct":
		if len(in.Missing) == 0 {
			return 0, nil, badRequest(codeInvalidApplication, "missing: name the materials the applicant is to supply")
		}
		for _, m := range in.Missing {
			if !slices.ContainsFunc(it.Materials, func(x material) bool { return x.Name == m }) {
				return 0, nil, badRequest(codeInvalidApplication, "missing: item %s requires no %q", it.Code, m)
			}
		}
	default:
		return 0, nil, badRequest(codeInvalidApplication, "decision: accept, reject or correct, not %q", in.Decision)
	}
	if in.Decision == "accept" && l.Channel == channelOnline {
		without, err := c.withoutReadyFile(l, it.item)
		if err != nil {
			return 0, nil, err
		}
		if len(without) > 0 {
			return 0, nil, missingMaterialsError("application "+l.Number+" has no file that has arrived, nor an original seen at the counter, of: ", without)
		}
	}
	before := l.application
	// The examination claims the application first: of two clerks
	// examining it at once, one writes this version and the other is
	// refused (version_conflict) before anything starts. An examination
	// the host failed in after the claim leaves it claimed (examined_by):
	// the same clerk's retry finishes it, keeping what the failed attempt
	// did in the engine; anyone else waits for that, or, once the claim
	// is abandoned, takes it over as that retry would.
	if l.ExaminedBy != "" && !mine && !abandoned {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s is being examined by %s since %s, whose retry finishes it; from %s another may take it over",
			l.Number, l.ExaminedBy, l.ExaminedAt.Format(time.RFC3339), l.ExaminedAt.Add(takeoverAfter).Format(time.RFC3339))
	}
	resumed := mine || abandoned
	if abandoned {
		c.log.Info("an abandoned examination taken over", "application", l.ID, "from", l.ExaminedBy, "by", c.who.login)
	}
	l.ExaminedBy, l.ExaminedAt, l.UpdatedBy, l.UpdatedAt = c.who.login, &c.now, c.who.login, c.now
	claimed, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application)
	if err != nil {
		return 0, nil, fromHost(err, "the application")
	}
	l.Version = claimed.Version
	if err := c.examineClaimed(&l, it, in, resumed); err != nil {
		// What the engine or the module refused gives the claim back,
		// keeping an instance started; a host failing keeps it for the
		// retry.
		var ae *apiError
		if errors.As(err, &ae) && ae.code != codeBusy {
			l.ExaminedBy, l.ExaminedAt = before.ExaminedBy, before.ExaminedAt
			if _, perr := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application); perr != nil {
				c.log.Error("an examination refused kept its claim", "application", l.ID, "err", perr)
			}
		}
		return 0, nil, err
	}
	rec, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application)
	if err != nil {
		return 0, nil, fromHost(err, "the application")
	}
	l.Version = rec.Version
	c.audit("application."+in.Decision, "application", l.ID, before, l.application)
	return http.StatusOK, l, nil
}

// takeoverAfter is how long a claim on an application's examination, or
// a decision the engine took that the module has not saved, waits for the
// retry of whom made it before another of the department (or the
// county's admin) may finish it: a retry after a failing host comes
// within seconds or minutes, and a quarter of an hour left is a clerk
// gone home, while the applicant's clock runs.
const takeoverAfter = 15 * time.Minute

// abandonedSince says whether what was left half-done at (a claim, an
// action of the engine's) waits in vain by now. One without a time, left
// before the module kept it, is.
func abandonedSince(at *time.Time, now time.Time) bool {
	return at == nil || !now.Before(at.Add(takeoverAfter))
}

// examineClaimed does examination in of claimed application l in the
// engine and sets its outcome, resuming what a failed attempt of the
// same clerk did.
func (c *call) examineClaimed(l *loaded, it itemView, in examineInput, resumed bool) error {
	var err error
	if l.InstanceID == 0 && resumed {
		if l.InstanceID, err = c.startedFor(*l); err != nil {
			return err
		}
	}
	if l.InstanceID == 0 {
		// One submitted before its workflow started at submission (its
		// clock starts here, as it did then).
		started, err := c.host.StartWorkflowFor(c.ctx, workflowApplication, applicationStart(l.ID, l.application, it.PromisedDays))
		if err != nil {
			return c.flowRefused(err)
		}
		l.InstanceID = started.Instance.ID
		// Kept at once, so that a refusal below leaves no second
		// instance to a retry.
		rec, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application)
		if err != nil {
			return fromHost(err, "the application")
		}
		l.Version = rec.Version
	}
	done := ""
	if resumed {
		if done, err = c.examinedInEngine(l.InstanceID); err != nil {
			return err
		}
		if done != "" && done != in.Decision {
			return newError(http.StatusConflict, codeIllegalTransition, "your examination of application %s that failed did %s in its workflow already: retry with that decision", l.Number, done)
		}
	}
	switch {
	case in.Decision == "correct":
		if done == "" {
			if _, err := c.host.SuspendWorkflow(c.ctx, l.InstanceID, "补正："+strings.Join(in.Missing, "、")); err != nil {
				return c.flowRefused(err)
			}
		}
		l.askFor(in.Missing)
		l.Status, l.ResumeTo = statusCorrecting, statusSubmitted
	default:
		if done == "" {
			if err := c.act(*l, it, in); err != nil {
				return err
			}
		}
		l.Status, l.Reasons = statusAccepted, ""
		if in.Decision == "reject" {
			l.Status, l.Reasons = statusRejected, in.Reasons
		}
	}
	l.ExaminedBy, l.ExaminedAt = "", nil
	return nil
}

// act accepts or rejects application l at its accept step.
func (c *call) act(l loaded, it itemView, in examineInput) error {
	task, err := c.openTask(l.InstanceID, "accept")
	if err != nil {
		return err
	}
	action, opts := in.Decision, sdk.ActOptions{Comment: in.Reasons}
	if action == "accept" && it.item.Joint() {
		// Every department reviews at once, each within its own limit
		// (the item's promise if it gives none).
		action = "accept_joint"
		for _, d := range it.Departments {
			days := d.Days
			if days == 0 {
				days = it.PromisedDays
			}
			opts.RecipientUnitIDs, opts.RecipientTimeLimitDays = append(opts.RecipientUnitIDs, d.UnitID), append(opts.RecipientTimeLimitDays, days)
		}
	}
	if _, err := c.host.ActOnTaskWith(c.ctx, task, action, opts); err != nil {
		return c.flowRefused(err)
	}
	return nil
}

// startedFor finds the instance a failed examination of application l
// started, by its reference; 0 if it failed before starting one.
func (c *call) startedFor(l loaded) (int64, error) {
	const page = 500
	for after := int64(0); ; {
		list, err := c.host.ListWorkflowInstances(c.ctx, sdk.WorkflowQuery{Workflow: workflowApplication, UnitID: l.UnitID, After: after, Limit: page})
		if err != nil {
			return 0, c.flowRefused(err)
		}
		for _, in := range list {
			if in.Reference != nil && *in.Reference == l.ID {
				return in.ID, nil
			}
		}
		if len(list) < page {
			return 0, nil
		}
		after = list[len(list)-1].ID
	}
}

// examinedInEngine says what an examination that failed before saving
// did at the accept step of instance: nothing ("", its task still
// open), correct (suspended there), accept or reject.
func (c *call) examinedInEngine(instance int64) (string, error) {
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflowApplication, InstanceID: instance})
	if err != nil {
		return "", c.flowRefused(err)
	}
	done := ""
	for _, t := range tasks {
		if t.Step != "accept" {
			continue
		}
		switch {
		case t.Status == "open":
			return "", nil
		case t.Status == "suspended":
			return "correct", nil
		case t.Status == "done" && t.Action != nil:
			done = strings.TrimSuffix(*t.Action, "_joint")
		}
	}
	return done, nil
}

// decisionInput is the body of POST /applications/{id}/decision.
type decisionInput struct {
	// Decision is approve (准予) or deny (不予, with reasons).
	Decision string `json:"decision"`
	Reasons  string `json:"reasons"`
}

// decide is the lead department's leader's decision (审批决定), the one
// reply to the applicant.
func (c *call) decide(p params) (int, any, error) {
	if !c.who.staff() {
		return 0, nil, forbidden("the lead department's leaders decide applications")
	}
	var in decisionInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	in.Reasons = strings.TrimSpace(in.Reasons)
	switch {
	case in.Decision != "approve" && in.Decision != "deny":
		return 0, nil, badRequest(codeInvalidApplication, "decision: approve or deny, not %q", in.Decision)
	case in.Decision == "deny" && (in.Reasons == "" || checkText(in.Reasons, maxReasons) != ""):
		return 0, nil, badRequest(codeInvalidApplication, "reasons: a denial gives its reasons, at most %d characters", maxReasons)
	}
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if c.who.unit != l.UnitID && !c.who.county {
		return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "application %s is for unit %d, not yours", l.Number, l.UnitID)
	}
	if l.Status != statusAccepted {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s is %s, not accepted and waiting for a decision", l.Number, l.Status)
	}
	step := "decide"
	if l.Joint {
		step = "reply"
		if err := c.checkJoin(l, in.Decision); err != nil {
			return 0, nil, err
		}
	}
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflowApplication, InstanceID: l.InstanceID})
	if err != nil {
		return 0, nil, c.flowRefused(err)
	}
	var open, done *sdk.Task
	for i, t := range tasks {
		switch {
		case t.Step != step:
		case t.Status == "open":
			open = &tasks[i]
		case t.Status == "done" && t.Action != nil:
			done = &tasks[i]
		}
	}
	if open == nil && done != nil {
		return c.finishDecision(l, in, *done)
	}
	if open == nil {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "the application's workflow waits at no %s step", step)
	}
	if c.who.unit != l.UnitID {
		return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "application %s is for unit %d, not yours", l.Number, l.UnitID)
	}
	out, err := c.host.ActOnTaskWith(c.ctx, open.ID, in.Decision, sdk.ActOptions{Comment: in.Reasons})
	if err != nil {
		return 0, nil, c.flowRefused(err)
	}
	return c.decided(l, in.Decision, in.Reasons, c.now, out.Instance)
}

// finishDecision saves the decision the engine took on application l
// (its task done) whose saving the host failed: the engine's record is
// the truth. Whom took it finishes it at once; another leader of the
// department or the county's admin once it waits in vain
// (takeoverAfter). A retry with another decision is refused.
func (c *call) finishDecision(l loaded, in decisionInput, done sdk.Task) (int, any, error) {
	if *done.Action != in.Decision {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s was decided (%s) in its workflow already: retry with that decision", l.Number, *done.Action)
	}
	mine := done.ActedBy != nil && *done.ActedBy == c.who.account
	if !mine && !(c.who.county || c.who.leader && c.who.unit == l.UnitID) {
		return 0, nil, forbidden("the lead department's leaders (or the county's admins) finish a decision the engine took")
	}
	if !mine && !abandonedSince(done.ActedAt, c.now) {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s is being decided by account %d, whose retry finishes it; from %s another may", l.Number, *done.ActedBy, done.ActedAt.Add(takeoverAfter).Format(time.RFC3339))
	}
	view, err := c.host.WorkflowInstanceView(c.ctx, l.InstanceID)
	if err != nil {
		return 0, nil, c.flowRefused(err)
	}
	reasons, at := "", c.now
	if done.Comment != nil {
		reasons = *done.Comment
	}
	if done.ActedAt != nil {
		at = *done.ActedAt
	}
	return c.decided(l, in.Decision, reasons, at, view.Instance)
}

// decided saves decision (with reasons) taken at at on application l, its
// instance finished, and counts it.
func (c *call) decided(l loaded, decision, reasons string, at time.Time, instance sdk.Instance) (int, any, error) {
	before := l.application
	punctual := onTime(at, instance)
	l.Status, l.Reasons, l.DecidedAt, l.OnTime = statusApproved, "", &at, &punctual
	if decision == "deny" {
		l.Status, l.Reasons = statusDenied, reasons
	}
	l.UpdatedBy, l.UpdatedAt = c.who.login, c.now
	rec, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application)
	if err != nil {
		return 0, nil, fromHost(err, "the application")
	}
	l.Version = rec.Version
	c.audit("application."+decision, "application", l.ID, before, l.application)
	c.countDecided(l, l.UnitID, "", at, instance)
	return http.StatusOK, l, nil
}

// onTime says instance, finished at at, finished by its deadline.
func onTime(at time.Time, instance sdk.Instance) bool {
	return instance.DueAt == nil || !at.After(*instance.DueAt)
}

// countDecided counts application l decided by unit at at in the unit's
// figures, on time or not and its handling time by instance, which the
// decision finished; prefix sets a department's review's keys apart from
// the application's own.
func (c *call) countDecided(l loaded, unit int64, prefix string, at time.Time, instance sdk.Instance) {
	d := day(at)
	counts := []string{measureDecided}
	if l.Channel == channelOnline {
		counts = append(counts, measureDecidedOnline)
	}
	if onTime(at, instance) {
		counts = append(counts, measureDecidedOnTime)
	} else {
		counts = append(counts, measureOverdue)
	}
	for _, m := range counts {
		c.record(sdk.Measure{ID: m, UnitID: unit, Day: d, Key: m + ":" + prefix + l.ID})
	}
	// A delta of 0 would count one: a decision taking no working time
	// adds nothing to the sum.
	if instance.WorkingDays != nil {
		if hundredths := int64(math.Round(*instance.WorkingDays * 100)); hundredths > 0 {
			c.record(sdk.Measure{ID: measureHandling, UnitID: unit, Day: d, Delta: hundredths, Key: measureHandling + ":" + prefix + l.ID})
		}
	}
}

// departmentReview is one department's review of a joint application.
type departmentReview struct {
	UnitID     int64  `json:"unit_id"`
	InstanceID int64  `json:"instance_id"`
	Status     string `json:"status"`
	// Decision is approve or deny once the department has decided.
	Decision string     `json:"decision,omitempty"`
	Reasons  *string    `json:"reasons,omitempty"`
	DueAt    *time.Time `json:"due_at,omitempty"`
}

// departmentReviews reads the departments' reviews of application l
// from the engine: the instances its acceptance distributed and their
// tasks.
func (c *call) departmentReviews(l loaded) ([]departmentReview, error) {
	insts, err := c.host.ListWorkflowInstances(c.ctx, sdk.WorkflowQuery{Workflow: workflowReview, ParentID: l.InstanceID, Limit: maxDepartments})
	if err != nil {
		return nil, c.flowRefused(err)
	}
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflowReview, ParentID: l.InstanceID, Status: "done", Limit: maxDepartments})
	if err != nil {
		return nil, c.flowRefused(err)
	}
	out := make([]departmentReview, 0, len(insts))
	for _, inst := range insts {
		r := departmentReview{UnitID: inst.SubjectUnitID, InstanceID: inst.ID, Status: inst.Status, DueAt: inst.DueAt}
		for _, t := range tasks {
			if t.InstanceID == inst.ID && t.Action != nil {
				r.Decision, r.Reasons = *t.Action, t.Comment
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// checkJoin refuses the one reply to a joint application while a
// department has not decided, and an approval when one has refused.
func (c *call) checkJoin(l loaded, decision string) error {
	reviews, err := c.departmentReviews(l)
	if err != nil {
		return err
	}
	for _, r := range reviews {
		if r.Decision == "" {
			return newError(http.StatusConflict, codeDepartmentsPending, "unit %d has not decided on application %s yet", r.UnitID, l.Number)
		}
		if r.Decision == "deny" && decision == "approve" {
			return newError(http.StatusConflict, codeDepartmentDenied, "unit %d refused application %s: the reply is a denial", r.UnitID, l.Number)
		}
	}
	return nil
}

// reviews lists the departments' reviews of a joint application, to its
// departments' staff and the county's admins.
func (c *call) reviews(p params) (int, any, error) {
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	it, err := c.loadItem(l.ItemCode)
	if err != nil {
		return 0, nil, err
	}
	if !c.who.county && !slices.ContainsFunc(it.Departments, func(d department) bool { return d.UnitID == c.who.unit }) {
		return 0, nil, newError(http.StatusNotFound, codeApplicationNotFound, "the county has no application %q", p["id"])
	}
	if !l.Joint || l.InstanceID == 0 {
		return http.StatusOK, []departmentReview{}, nil
	}
	out, err := c.departmentReviews(l)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// reviewInput is the body of POST /applications/{id}/review.
type reviewInput struct {
	// Decision is approve, deny (with reasons) or correct (naming the
	// missing materials, which stops every department's clock).
	Decision string   `json:"decision"`
	Reasons  string   `json:"reasons"`
	Missing  []string `json:"missing"`
}

// review is one department's decision on a joint application, by its
// leader (the engine's review task is the department leader's).
func (c *call) review(p params) (int, any, error) {
	if !c.who.staff() {
		return 0, nil, forbidden("the departments' leaders review joint applications")
	}
	var in reviewInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	in.Reasons = strings.TrimSpace(in.Reasons)
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	it, err := c.loadItem(l.ItemCode)
	if err != nil {
		return 0, nil, err
	}
	if !slices.ContainsFunc(it.Departments, func(d department) bool { return d.UnitID == c.who.unit }) {
		return 0, nil, newError(http.StatusForbidden, codeNotYourDepartment, "application %s is not reviewed by unit %d", l.Number, c.who.unit)
	}
	if !l.Joint || l.Status != statusAccepted {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s is %s, not a joint one under review", l.Number, l.Status)
	}
	switch in.Decision {
	case "approve":
	case "deny":
		if in.Reasons == "" || checkText(in.Reasons, maxReasons) != "" {
			return 0, nil, badRequest(codeInvalidApplication, "reasons: a refusal gives its reasons, at most %d characters", maxReasons)
		}
	case "correct":
		if len(in.Missing) == 0 || slices.ContainsFunc(in.Missing, func(m string) bool {
			return !slices.ContainsFunc(it.Materials, func(x material) bool { return x.Name == m })
		}) {
			return 0, nil, badRequest(codeInvalidApplication, "missing: name the item's materials the applicant is to supply")
		}
	default:
		return 0, nil, badRequest(codeInvalidApplication, "decision: approve, deny or correct, not %q", in.Decision)
	}
	if in.Decision == "correct" {
		// The whole waits on the applicant: suspending the accepted
		// application stops every department's clock with its own.
		before := l.application
		if _, err := c.host.SuspendWorkflow(c.ctx, l.InstanceID, "补正："+strings.Join(in.Missing, "、")); err != nil {
			return 0, nil, c.flowRefused(err)
		}
		l.askFor(in.Missing)
		l.Status, l.ResumeTo, l.UpdatedBy, l.UpdatedAt = statusCorrecting, statusAccepted, c.who.login, c.now
		rec, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application)
		if err != nil {
			return 0, nil, fromHost(err, "the application")
		}
		l.Version = rec.Version
		c.audit("application.correct", "application", l.ID, before, l.application)
		return http.StatusOK, l, nil
	}
	insts, err := c.host.ListWorkflowInstances(c.ctx, sdk.WorkflowQuery{Workflow: workflowReview, ParentID: l.InstanceID, UnitID: c.who.unit, Limit: 1})
	if err != nil {
		return 0, nil, c.flowRefused(err)
	}
	if len(insts) == 0 {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s has no review by unit %d", l.Number, c.who.unit)
	}
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflowReview, InstanceID: insts[0].ID, Status: "open"})
	if err != nil {
		return 0, nil, c.flowRefused(err)
	}
	if len(tasks) == 0 {
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "unit %d has decided on application %s already", c.who.unit, l.Number)
	}
	acted, err := c.host.ActOnTaskWith(c.ctx, tasks[0].ID, in.Decision, sdk.ActOptions{Comment: in.Reasons})
	if err != nil {
		return 0, nil, c.flowRefused(err)
	}
	if c.who.unit != l.UnitID {
		// A reviewing department's figures are its own reviews, each
		// against its own limit; the lead department's are the
		// applications it replies to (decide).
		c.countDecided(l, c.who.unit, "review:", c.now, acted.Instance)
	}
	c.audit("application.review."+in.Decision, "application", l.ID, nil, map[string]any{"unit_id": c.who.unit, "decision": in.Decision, "reasons": in.Reasons})
	out, err := c.departmentReviews(l)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// openTask is the open task of instance at step.
func (c *call) openTask(instance int64, step string) (int64, error) {
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflowApplication, InstanceID: instance, Status: "open"})
	if err != nil {
		return 0, c.flowRefused(err)
	}
	for _, t := range tasks {
		if t.Step == step {
			return t.ID, nil
		}
	}
	return 0, newError(http.StatusConflict, codeIllegalTransition, "the application's workflow waits at no %s step", step)
}

// flowRefused answers what the workflow engine refused: not the
// caller's task (the role is missing) as forbidden, a suspended or
// closed task as an illegal transition.
func (c *call) flowRefused(err error) error {
	switch {
	case errors.Is(err, sdk.ErrDenied):
		return forbidden("%v", err)
	case errors.Is(err, sdk.ErrConflict):
		return newError(http.StatusConflict, codeIllegalTransition, "%v", err)
	}
	return fromHost(err, "the application's workflow")
}

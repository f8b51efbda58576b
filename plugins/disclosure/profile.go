package disclosure

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// codeNotPublished: withdrawing what is not published.
const codeNotPublished = "not_published"

func profileRoutes() []route {
	return []route{
		{http.MethodGet, "/units/{unit}/profile", (*call).getProfile},
		{http.MethodPut, "/units/{unit}/profile", (*call).putProfile},
		{http.MethodPost, "/units/{unit}/profile/publish", (*call).publishProfile},
		{http.MethodPost, "/units/{unit}/profile/withdraw", (*call).withdrawProfile},
	}
}

// profileForm is a unit's basic information (基本信息): the form its
// staff fill. Every part is required; each is one of the items the
// disclosure index counts (basicItems).
type profileForm struct {
	// Functions are the unit's functions (职能).
	Functions string `json:"functions"`
	// Structure is its internal structure (机构设置).
	Structure string `json:"structure"`
	// Leaders are its leaders with their duties (领导分工).
	Leaders []leader `json:"leaders"`
	// Contacts are how to reach it (联系方式).
	Contacts contacts `json:"contacts"`
	// Procedures are how business is done there (办事程序).
	Procedures string `json:"procedures"`
	// Complaints are where to complain about it (监督投诉).
	Complaints complaints `json:"complaints"`
}

type leader struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Duties string `json:"duties"`
}

type contacts struct {
	Address string `json:"address"`
	Phone   string `json:"phone"`
	Hours   string `json:"hours,omitempty"`
	Email   string `json:"email,omitempty"`
}

type complaints struct {
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
	Address string `json:"address,omitempty"`
}

// basicItems are the items of the basic information the index counts,
// each with its name where people read it.
var basicItems = []struct{ field, zh string }{
	{"functions", "职能"}, {"structure", "机构设置"}, {"leaders", "领导分工"},
	{"contacts", "联系方式"}, {"procedures", "办事程序"}, {"complaints", "监督投诉"},
}

// Bounds of the form.
const (
	maxLongText  = 8000
	maxShortText = 200
	maxLeaders   = 30
)

// profileInput is the body of PUT /units/{unit}/profile.
type profileInput struct {
	// Version is the profile's version the edit is made on; 0 creates it.
	Version int64 `json:"version"`
	profileForm
}

// parseProfile reads and checks the body of a profile's PUT, naming
// every field to fix at once.
func parseProfile(body []byte) (profileInput, error) {
	var in profileInput
	if err := decodeBody(body, &in); err != nil {
		return profileInput{}, err
	}
	var p problems
	if in.Version < 0 {
		p.add("version is a record's version, 0 to create it")
	}
	f := &in.profileForm
	p.text("functions (职能)", &f.Functions, maxLongText, true, true)
	p.text("structure (机构设置)", &f.Structure, maxLongText, true, true)
	p.text("procedures (办事程序)", &f.Procedures, maxLongText, true, true)
	switch {
	case len(f.Leaders) == 0:
		p.add("leaders (领导分工) names at least one leader")
	case len(f.Leaders) > maxLeaders:
		p.add("leaders (领导分工) names at most %d leaders", maxLeaders)
	}
	for i := range f.Leaders {
		l := &f.Leaders[i]
		p.text(fmt.Sprintf("leaders[%d].name", i), &l.Name, 32, true, false)
		p.text(fmt.Sprintf("leaders[%d].title", i), &l.Title, 64, true, false)
		p.text(fmt.Sprintf("leaders[%d].duties", i), &l.Duties, 1000, true, true)
	}
	p.text("contacts.address", &f.Contacts.Address, maxShortText, true, false)
	p.phone("contacts.phone", &f.Contacts.Phone, true)
	p.text("contacts.hours", &f.Contacts.Hours, 100, false, false)
	p.email("contacts.email", &f.Contacts.Email)
	p.phone("complaints.phone", &f.Complaints.Phone, false)
	p.email("complaints.email", &f.Complaints.Email)
	p.text("complaints.address", &f.Complaints.Address, maxShortText, false, false)
	if f.Complaints == (complaints{}) {
		p.add("complaints (监督投诉) gives at least one channel: phone, email or address")
	}
	if err := p.err(codeInvalidProfile); err != nil {
		return profileInput{}, err
	}
	return in, nil
}

// profile is a unit's record: the form as last saved (the draft) and as
// last published, which is all the public sees.
type profile struct {
	UnitID      int64        `json:"unit_id"`
	UnitName    string       `json:"unit_name"`
	Draft       profileForm  `json:"draft"`
	Published   *profileForm `json:"published,omitempty"`
	PublishedAt *time.Time   `json:"published_at,omitempty"`
	PublishedBy string       `json:"published_by,omitempty"`
	UpdatedBy   string       `json:"updated_by"`
	// Public is "yes" while a form is published, for the public list.
	Public string `json:"public"`
}

// Statuses of a profile, as views show them.
const (
	profileDraft     = "draft"
	profilePublished = "published"
	profileChanged   = "changed"
)

func (p profile) status() string {
	switch {
	case p.Published == nil:
		return profileDraft
	case reflect.DeepEqual(*p.Published, p.Draft):
		return profilePublished
	}
	return profileChanged
}

// profileView is a profile as staff read it.
type profileView struct {
	UnitID      int64        `json:"unit_id"`
	UnitName    string       `json:"unit_name"`
	Version     int64        `json:"version"`
	Status      string       `json:"status"`
	Draft       profileForm  `json:"draft"`
	Published   *profileForm `json:"published,omitempty"`
	PublishedAt *time.Time   `json:"published_at,omitempty"`
	PublishedBy string       `json:"published_by,omitempty"`
	UpdatedAt   time.Time    `json:"updated_at"`
	UpdatedBy   string       `json:"updated_by"`
}

func profileViewOf(r sdk.Record, p profile) profileView {
	return profileView{UnitID: p.UnitID, UnitName: p.UnitName, Version: r.Version, Status: p.status(), Draft: p.Draft,
		Published: p.Published, PublishedAt: p.PublishedAt, PublishedBy: p.PublishedBy, UpdatedAt: r.UpdatedAt, UpdatedBy: p.UpdatedBy}
}

// unitParam reads the {unit} of a path.
func unitParam(p params) (int64, error) { return positiveID("unit", p["unit"]) }

// readProfile reads unit's profile; ok is false if it has none.
func (c *call) readProfile(unit int64) (sdk.Record, profile, bool, error) {
	r, err := c.host.Get(c.ctx, collProfiles, strconv.FormatInt(unit, 10))
	if errors.Is(err, sdk.ErrNotFound) {
		return sdk.Record{}, profile{}, false, nil
	}
	if err != nil {
		return sdk.Record{}, profile{}, false, fromHost(err, "the unit's basic information")
	}
	var p profile
	if err := json.Unmarshal(r.Document, &p); err != nil {
		return sdk.Record{}, profile{}, false, fmt.Errorf("read profile %s: %w", r.ID, err)
	}
	return r, p, true, nil
}

func profileNotFound(unit int64) *apiError {
	return newError(http.StatusNotFound, codeNotFound, "unit %d has no basic information in this county", unit)
}

// getProfile: GET /units/{unit}/profile, to the unit's accounts and the
// county's readers.
func (c *call) getProfile(p params) (int, any, error) {
	unit, err := unitParam(p)
	if err != nil {
		return 0, nil, err
	}
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.readsUnit(unit, c.settings) {
		return 0, nil, forbidden("only the unit's accounts, the county office, the county's admins and operators read its drafts")
	}
	r, pr, ok, err := c.readProfile(unit)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, profileNotFound(unit)
	}
	return http.StatusOK, profileViewOf(r, pr), nil
}

// unitName reads unit's name, refusing a unit the county does not have.
func (c *call) unitName(unit int64) (string, error) {
	found, err := c.host.Units(c.ctx, unit)
	if err != nil {
		return "", fromHost(err, "the county's units")
	}
	if len(found) != 1 || found[0].ID != unit {
		return "", badRequest(codeUnknownUnit, "the county has no unit %d", unit)
	}
	return found[0].Name, nil
}

// putProfile: PUT /units/{unit}/profile saves the unit's form, complete,
// as its draft; the public sees it once it is published.
func (c *call) putProfile(p params) (int, any, error) {
	unit, err := unitParam(p)
	if err != nil {
		return 0, nil, err
	}
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.edits(unit) {
		return 0, nil, forbidden("only the unit's admin or business admin, or a county admin, edits its basic information")
	}
	in, err := parseProfile(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	name, err := c.unitName(unit)
	if err != nil {
		return 0, nil, err
	}
	var pr profile
	if in.Version > 0 {
		r, old, ok, err := c.readProfile(unit)
		switch {
		case err != nil:
			return 0, nil, err
		case !ok:
			return 0, nil, profileNotFound(unit)
		case r.Version != in.Version:
			return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the basic information is at version %d, not %d; read it again", r.Version, in.Version)
		}
		pr = old
	}
	before := pr
	pr.UnitID, pr.UnitName, pr.Draft, pr.UpdatedBy = unit, name, in.profileForm, c.who.login
	if pr.Public == "" {
		pr.Public = "no"
	}
	r, err := c.host.Put(c.ctx, collProfiles, strconv.FormatInt(unit, 10), in.Version, pr)
	if err != nil {
		return 0, nil, fromHost(err, "the unit's basic information")
	}
	if in.Version == 0 {
		c.audit("profile.create", "profile", r.ID, nil, pr.Draft)
		return http.StatusCreated, profileViewOf(r, pr), nil
	}
	c.audit("profile.update", "profile", r.ID, before.Draft, pr.Draft)
	return http.StatusOK, profileViewOf(r, pr), nil
}

// versionInput is the body of an action on a record at its version.
type versionInput struct {
	Version int64 `json:"version"`
}

// loadForAction reads unit's profile for an action at the version body
// names, by its publisher.
func (c *call) loadForAction(p params, what string) (sdk.Record, profile, error) {
	unit, err := unitParam(p)
	if err != nil {
		return sdk.Record{}, profile{}, err
	}
	if _, err := parseQuery(c.req.Query); err != nil {
		return sdk.Record{}, profile{}, err
	}
	if !c.who.publishes(unit) {
		return sdk.Record{}, profile{}, forbidden("only the unit's admin, or a county admin, %s its basic information", what)
	}
	var in versionInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return sdk.Record{}, profile{}, err
	}
	r, pr, ok, err := c.readProfile(unit)
	switch {
	case err != nil:
		return sdk.Record{}, profile{}, err
	case !ok:
		return sdk.Record{}, profile{}, profileNotFound(unit)
	case r.Version != in.Version:
		return sdk.Record{}, profile{}, newError(http.StatusConflict, codeVersionConflict, "the basic information is at version %d, not %d; read it again", r.Version, in.Version)
	}
	return r, pr, nil
}

// publishProfile: POST /units/{unit}/profile/publish puts the draft on
// the county's public pages.
func (c *call) publishProfile(p params) (int, any, error) {
	r, pr, err := c.loadForAction(p, "publishes")
	if err != nil {
		return 0, nil, err
	}
	if pr.status() == profilePublished {
		return 0, nil, newError(http.StatusConflict, codeAlreadyPublished, "the basic information is published as it stands")
	}
	before := pr.Published
	form, at := pr.Draft, c.now.UTC()
	pr.Published, pr.PublishedAt, pr.PublishedBy, pr.Public = &form, &at, c.who.login, "yes"
	r, err = c.host.Put(c.ctx, collProfiles, r.ID, r.Version, pr)
	if err != nil {
		return 0, nil, fromHost(err, "the unit's basic information")
	}
	c.audit("profile.publish", "profile", r.ID, before, pr.Published)
	c.levelUnit(pr.UnitID)
	return http.StatusOK, profileViewOf(r, pr), nil
}

// withdrawProfile: POST /units/{unit}/profile/withdraw takes the
// published form off the public pages; the draft stays.
func (c *call) withdrawProfile(p params) (int, any, error) {
	r, pr, err := c.loadForAction(p, "withdraws")
	if err != nil {
		return 0, nil, err
	}
	if pr.Published == nil {
		return 0, nil, newError(http.StatusConflict, codeNotPublished, "the basic information is not published")
	}
	before := pr.Published
	pr.Published, pr.PublishedAt, pr.PublishedBy, pr.Public = nil, nil, "", "no"
	r, err = c.host.Put(c.ctx, collProfiles, r.ID, r.Version, pr)
	if err != nil {
		return 0, nil, fromHost(err, "the unit's basic information")
	}
	c.audit("profile.withdraw", "profile", r.ID, before, nil)
	c.levelUnit(pr.UnitID)
	return http.StatusOK, profileViewOf(r, pr), nil
}

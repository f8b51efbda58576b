package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// collItems keeps the county's catalogue of approval items (事项目录), one
// record per item under its code.
const collItems = "items"

func itemCollections() map[string]sdk.Collection {
	return map[string]sdk.Collection{
		// Items are listed by their handling (lead) department, category
		// and whether they are complete; read by their code, the record's
		// id.
		collItems: {Indexed: []string{"unit_id", "category", "complete"}},
	}
}

// Categories of items (事项类别).
const (
	categoryLicence    = "行政许可"
	categoryNonLicence = "非行政许可"
	categoryService    = "公共服务"
)

var categories = []string{categoryLicence, categoryNonLicence, categoryService}

// Error codes of the catalogue.
const (
	codeInvalidItem  = "invalid_item"
	codeItemNotFound = "item_not_found"
	// codeItemChanged: the item changed twice while an application was
	// checked against it.
	codeItemChanged = "item_changed"
	codeItemExists  = "item_exists"
)

// Bounds of an item's fields, in characters.
const (
	maxCode        = 64
	maxName        = 100
	maxLongText    = 4000
	maxFees        = 500
	maxPhone       = 60
	maxMaterials   = 50
	maxDepartments = 10
	// maxDays bounds a time limit in working days: a year's.
	maxDays = 250
)

var (
	// codePattern is an item's code (事项编码), such as
	// 11360922MB1521004X-XK-0001: what a record id takes, and upper case,
	// since codes are compared as written.
	codePattern  = regexp.MustCompile(`^[0-9A-Z][0-9A-Z._-]{0,63}$`)
	phonePattern = regexp.MustCompile(`^[0-9+()（） ,，;；、/转-]{3,60}$`)
)

// item is an approval item (审批事项) of the county's catalogue.
type item struct {
	// Code is the item's code, unique in the county, and its record's id.
	Code     string `json:"code"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// UnitID is the lead department, the first of Departments: the one
	// that accepts applications (受理) and replies.
	UnitID int64 `json:"unit_id"`
	// Departments handle the item; more than one make it a joint item
	// (联合审批), each with its own limit.
	Departments []department `json:"departments"`
	LegalBasis  string       `json:"legal_basis"`
	Conditions  string       `json:"conditions"`
	Materials   []material   `json:"materials"`
	Procedure   string       `json:"procedure"`
	// PromisedDays (承诺时限) and StatutoryDays (法定时限) are working
	// days; the promise is shorter. 0 while not given.
	PromisedDays  int    `json:"promised_days"`
	StatutoryDays int    `json:"statutory_days"`
	Fees          string `json:"fees"`
	Phone         string `json:"phone"`
	// Complete says every field the catalogue requires is given: what
	// the measure approval.items.complete counts.
	Complete bool `json:"complete"`
	// CountedOn is the day in China the item was counted complete, once
	// in its life; empty until then.
	CountedOn string    `json:"counted_on,omitempty"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// department is one department handling an item and its limit.
type department struct {
	UnitID int64 `json:"unit_id"`
	// Days is the department's limit in working days; for an item of one
	// department, 0 means the item's promise.
	Days int `json:"days"`
}

// material is a material an applicant hands in (申请材料).
type material struct {
	Name string `json:"name"`
	// Original: the original (原件) is to be shown.
	Original bool `json:"original"`
	// EForm: the material is an electronic form (电子表单) filled online.
	EForm bool `json:"eform"`
}

// Joint reports whether several departments handle the item.
func (it item) Joint() bool { return len(it.Departments) > 1 }

// itemView is an item as the API answers it.
type itemView struct {
	item
	Joint     bool      `json:"joint"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// read is the item's record as read, for a submission made against
	// it (sdk.Submission.Unchanged).
	read sdk.RecordVersion
}

func itemOf(r sdk.Record) (itemView, error) {
	var v itemView
	if err := json.Unmarshal(r.Document, &v.item); err != nil {
		return itemView{}, fmt.Errorf("read item %s: %w", r.ID, err)
	}
	v.Joint, v.Version, v.CreatedAt, v.read = v.item.Joint(), r.Version, r.CreatedAt, sdk.VersionOf(r)
	return v, nil
}

// loadItem reads the item of code, written in either case; an unknown
// code (or one no item could have) is item_not_found.
func (c *call) loadItem(code string) (itemView, error) {
	code = strings.ToUpper(code)
	if !codePattern.MatchString(code) {
		return itemView{}, newError(http.StatusNotFound, codeItemNotFound, "the catalogue has no item %q", code)
	}
	r, err := c.host.Get(c.ctx, collItems, code)
	if errors.Is(err, sdk.ErrNotFound) {
		return itemView{}, newError(http.StatusNotFound, codeItemNotFound, "the catalogue has no item %s", code)
	}
	if err != nil {
		return itemView{}, fromHost(err, "the item")
	}
	return itemOf(r)
}

// itemInput is an item as a caller gives it: the body of POST /items and
// PUT /items/{code}, and a row of a workbook.
type itemInput struct {
	// Version is the item's current version to replace it (PUT).
	Version       int64        `json:"version"`
	Code          string       `json:"code"`
	Name          string       `json:"name"`
	Category      string       `json:"category"`
	Departments   []department `json:"departments"`
	LegalBasis    string       `json:"legal_basis"`
	Conditions    string       `json:"conditions"`
	Materials     []material   `json:"materials"`
	Procedure     string       `json:"procedure"`
	PromisedDays  int          `json:"promised_days"`
	StatutoryDays int          `json:"statutory_days"`
	Fees          string       `json:"fees"`
	Phone         string       `json:"phone"`
}

// problem is what is wrong with one field of an item.
type problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// normalise trims the input's text and writes its code in upper case.
func (in *itemInput) normalise() {
	in.Code = strings.ToUpper(strings.TrimSpace(in.Code))
	for _, s := range []*string{&in.Name, &in.Category, &in.LegalBasis, &in.Conditions, &in.Procedure, &in.Fees, &in.Phone} {
		*s = strings.TrimSpace(strings.ReplaceAll(*s, "\r\n", "\n"))
	}
	for i := range in.Materials {
		in.Materials[i].Name = strings.TrimSpace(in.Materials[i].Name)
	}
}

// check reports every problem of the input at once; units are the
// county's units, to which every department must belong. A draft may
// leave out all but the code, name, category and departments: complete
// says whether it left out nothing.
func (in itemInput) check(units map[int64]bool) []problem {
	var ps []problem
	add := func(field, format string, args ...any) {
		ps = append(ps, problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !codePattern.MatchString(in.Code) {
		add("code", "the code is 1 to %d letters, digits, dots, underscores or dashes, starting with a letter or digit", maxCode)
	}
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > maxName || !plainLine(in.Name) {
		add("name", "the name is one line of 1 to %d characters", maxName)
	}
	if !slices.Contains(categories, in.Category) {
		add("category", "the category is one of %s", strings.Join(categories, ", "))
	}
	switch n := len(in.Departments); {
	case n == 0:
		add("departments", "name the department that handles the item")
	case n > maxDepartments:
		add("departments", "at most %d departments handle an item", maxDepartments)
	}
	for i, d := range in.Departments {
		switch {
		case d.UnitID <= 0 || !units[d.UnitID]:
			add("departments", "department %d is not a unit of the county", d.UnitID)
		case slices.ContainsFunc(in.Departments[:i], func(o department) bool { return o.UnitID == d.UnitID }):
			add("departments", "department %d is named twice", d.UnitID)
		case d.Days < 0 || d.Days > maxDays:
			add("departments", "department %d's limit is 0 to %d working days", d.UnitID, maxDays)
		case len(in.Departments) > 1 && d.Days == 0:
			add("departments", "department %d of a joint item needs its own limit in working days", d.UnitID)
		case in.PromisedDays > 0 && d.Days > in.PromisedDays:
			add("departments", "department %d's limit of %d working days is over the item's promise of %d", d.UnitID, d.Days, in.PromisedDays)
		}
	}
	for _, f := range []struct{ name, value string }{{"legal_basis", in.LegalBasis}, {"conditions", in.Conditions}, {"procedure", in.Procedure}} {
		if utf8.RuneCountInString(f.value) > maxLongText || !plainText(f.value) {
			add(f.name, "the text has at most %d characters and no control characters but line breaks and tabs", maxLongText)
		}
	}
	if utf8.RuneCountInString(in.Fees) > maxFees || !plainText(in.Fees) {
		add("fees", "the fees are at most %d characters of text", maxFees)
	}
	if in.Phone != "" && !phonePattern.MatchString(in.Phone) {
		add("phone", "the consultation phone is 3 to %d digits, spaces and + - ( ) , ; 、 / 转", maxPhone)
	}
	if len(in.Materials) > maxMaterials {
		add("materials", "at most %d materials", maxMaterials)
	}
	for i, m := range in.Materials {
		switch n := utf8.RuneCountInString(m.Name); {
		case n == 0 || n > maxName || !plainLine(m.Name):
			add("materials", "material %d's name is one line of 1 to %d characters", i+1, maxName)
		case slices.ContainsFunc(in.Materials[:i], func(o material) bool { return o.Name == m.Name }):
			add("materials", "material %q is listed twice", m.Name)
		}
	}
	for _, f := range []struct {
		name string
		days int
	}{{"promised_days", in.PromisedDays}, {"statutory_days", in.StatutoryDays}} {
		if f.days < 0 || f.days > maxDays {
			add(f.name, "the limit is 1 to %d working days, or 0 while not given", maxDays)
		}
	}
	if in.PromisedDays > 0 && in.StatutoryDays > 0 && in.PromisedDays >= in.StatutoryDays {
		add("promised_days", "the promised limit (%d working days) is shorter than the statutory one (%d)", in.PromisedDays, in.StatutoryDays)
	}
	return ps
}

// complete reports whether the input gives every field the catalogue
// requires of an item ready for applications (docs/approval.md).
func (in itemInput) complete() bool {
	return in.LegalBasis != "" && in.Conditions != "" && len(in.Materials) > 0 && in.Procedure != "" &&
		in.PromisedDays > 0 && in.StatutoryDays > 0 && in.Fees != "" && in.Phone != ""
}

// item is the input as the catalogue keeps it, written by login at now.
func (in itemInput) item(login string, now time.Time) item {
	deps := slices.Clone(in.Departments)
	if len(deps) == 1 && deps[0].Days == 0 {
		deps[0].Days = in.PromisedDays
	}
	return item{Code: in.Code, Name: in.Name, Category: in.Category, UnitID: deps[0].UnitID, Departments: deps,
		LegalBasis: in.LegalBasis, Conditions: in.Conditions, Materials: slices.Clone(in.Materials), Procedure: in.Procedure,
		PromisedDays: in.PromisedDays, StatutoryDays: in.StatutoryDays, Fees: in.Fees, Phone: in.Phone,
		Complete: in.complete(), UpdatedBy: login, UpdatedAt: now.UTC()}
}

// plainLine is text of one line without control characters.
func plainLine(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// plainText is text whose only control characters are line breaks and
// tabs.
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' })
}

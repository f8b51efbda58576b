package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/notify"
)

// ImportReport says what an import did, or on a dry run would do, and
// every problem of the file. With problems, nothing is changed.
type ImportReport struct {
	DryRun         bool     `json:"dry_run"`
	Applied        bool     `json:"applied"`
	Format         string   `json:"format"`
	Rows           int      `json:"rows"`
	Units          Counts   `json:"units"`
	Accounts       Counts   `json:"accounts"`
	IgnoredColumns []string `json:"ignored_columns,omitempty"`
	// Quotas are the quotas of existing units the import changes, or
	// keeps against the file because an approved request raised them.
	Quotas []QuotaChange `json:"quotas,omitempty"`
	Errors []RowError    `json:"errors"`
}

// QuotaChange is what an import does to an existing unit's account quota
// (nil: no cap). An approved quota request's raise stands unless the
// file raises the quota further: where the file asks for less, File is
// what it asked and Request the approved request that keeps After.
type QuotaChange struct {
	Unit    string `json:"unit"`
	Before  *int   `json:"before"`
	After   *int   `json:"after"`
	File    *int   `json:"file,omitempty"`
	Request int64  `json:"request_id,omitempty"`
}

// Counts are what an import does to units or accounts.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// CodeImportInvalid refuses a file with problems; its details are the
// problems, row by row.
const CodeImportInvalid = "import_invalid"

// MaxImportBytes caps an imported file (100k rows of a staffing list take
// about 10 MB).
const MaxImportBytes = 64 << 20

// batchSize is how many rows one statement writes.
const batchSize = 500

func (s *service) Import(ctx context.Context, tenant string, file []byte, dryRun bool) (ImportReport, error) {
	report := ImportReport{DryRun: dryRun, Errors: []RowError{}}
	sh, problems := readSheet(file)
	report.Format = sh.format
	if len(problems) > 0 {
		return refuse(report, problems)
	}
	// Classified content never enters, in a column the import would ignore
	// as much as in one it reads.
	if err := classified.CheckTable(sh.rows); err != nil {
		return report, err
	}
	rows, ignored, problems := parseRows(sh)
	report.IgnoredColumns, report.Rows = ignored, len(rows)
	if len(problems) > 0 {
		return refuse(report, problems)
	}
	recs, problems := checkRows(rows)
	present := map[string]bool{}
	if len(rows) > 0 {
		for field := range rows[0].fields {
			present[field] = true
		}
	}
	// renewed are the accounts whose tokens the import ends.
	var renewed []int64
	run := func(ctx context.Context, q querier, tx *sqlx.Tx) error {
		cur, err := loadOrg(ctx, q)
		if err != nil {
			return err
		}
		p := planImport(recs, cur, present)
		problems = append(problems, p.problems...)
		report.Units, report.Accounts, report.Quotas = p.unitCounts, p.accountCounts, p.quotas
		if len(problems) > 0 || tx == nil {
			return nil
		}
		if err := p.apply(ctx, tx, cur); err != nil {
			return err
		}
		if renewed = p.renewals(cur); len(renewed) > 0 {
			if err := auth.RenewSecurity(ctx, tx, renewed...); err != nil {
				return err
			}
		}
		report.Applied = true
		return nil
	}
	var err error
	if dryRun {
		err = s.read(ctx, tenant, func(ctx context.Context, q querier) error { return run(ctx, q, nil) })
	} else {
		err = s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
			if err := run(ctx, tx, tx); err != nil {
				return err
			}
			if len(problems) > 0 {
				return errRefused
			}
			return audit.Write(ctx, tx, audit.New(ctx, "org.import", "import", "", nil, report))
		})
	}
	if err != nil && !errors.Is(err, errRefused) {
		return report, err
	}
	if len(problems) > 0 {
		return refuse(report, problems)
	}
	s.renewed(tenant, renewed...)
	return report, nil
}

// errRefused rolls back an import that found problems.
var errRefused = errors.New("import refused")

// refuse reports the problems: in the report of a dry run, which succeeds,
// or as the error of an import, which changes nothing.
func refuse(report ImportReport, problems []RowError) (ImportReport, error) {
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Row < problems[j].Row })
	report.Errors = problems
	report.Units, report.Accounts, report.Quotas = Counts{}, Counts{}, nil
	if report.DryRun {
		return report, nil
	}
	e := errs.Invalid(CodeImportInvalid, "%s in the file; nothing was changed", countProblems(len(problems)))
	e.Details = problems
	return report, e
}

// countProblems says "1 problem" or "n problems".
func countProblems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

// orgState is a county's organisation as an import finds it.
type orgState struct {
	units     map[string]*dbUnit
	unitNames map[int64]string
	accounts  map[string]*dbAccount
	// roles by code and by name
	roles map[string]Role
	// raises are the highest approved quota request of each unit, by id
	raises map[int64]raise
}

// raise is an approved quota request.
type raise struct {
	ID     int64 `db:"id"`
	UnitID int64 `db:"unit_id"`
	Quota  int   `db:"quota"`
}

type dbUnit struct {
	ID       int64         `db:"id"`
	Name     string        `db:"name"`
	Code     string        `db:"code"`
	ParentID sql.NullInt64 `db:"parent_id"`
	Sort     int           `db:"sort_order"`
	Quota    sql.NullInt32 `db:"account_quota"`
}

type dbAccount struct {
	ID     int64  `db:"id"`
	Login  string `db:"login"`
	Name   string `db:"name"`
	UnitID int64  `db:"unit_id"`
	Mobile string `db:"mobile"`
	Email  string `db:"email"`
	Status string `db:"status"`
	roles  []string
}

func loadOrg(ctx context.Context, q querier) (*orgState, error) {
	st := &orgState{units: map[string]*dbUnit{}, unitNames: map[int64]string{}, accounts: map[string]*dbAccount{}, roles: map[string]Role{}, raises: map[int64]raise{}}
	var units []*dbUnit
	if err := q.SelectContext(ctx, &units, "SELECT id, name, COALESCE(code, '') AS code, parent_id, sort_order, account_quota FROM units"); err != nil {
		return nil, fmt.Errorf("load units: %w", err)
	}
	for _, u := range units {
		st.units[u.Name] = u
		st.unitNames[u.ID] = u.Name
	}
	var accounts []*dbAccount
	if err := q.SelectContext(ctx, &accounts, "SELECT id, login, name, unit_id, COALESCE(mobile, '') AS mobile, COALESCE(email, '') AS email, status FROM accounts"); err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	byID := make(map[int64]*dbAccount, len(accounts))
	for _, a := range accounts {
		st.accounts[a.Login] = a
		byID[a.ID] = a
	}
	var roles []Role
	if err := q.SelectContext(ctx, &roles, "SELECT id, code, name, builtin FROM roles"); err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	codeOf := map[int64]string{}
	for _, r := range roles {
		st.roles[r.Code], st.roles[r.Name] = r, r
		codeOf[r.ID] = r.Code
	}
	var links []struct {
		AccountID int64 `db:"account_id"`
		RoleID    int64 `db:"role_id"`
	}
	if err := q.SelectContext(ctx, &links, "SELECT account_id, role_id FROM account_roles"); err != nil {
		return nil, fmt.Errorf("load account roles: %w", err)
	}
	for _, l := range links {
		if a := byID[l.AccountID]; a != nil {
			a.roles = append(a.roles, codeOf[l.RoleID])
		}
	}
	for _, a := range accounts {
		sort.Strings(a.roles)
	}
	var raises []raise
	if err := q.SelectContext(ctx, &raises, "SELECT id, unit_id, quota FROM quota_requests WHERE status = ? ORDER BY quota, id", RequestApproved); err != nil {
		return nil, fmt.Errorf("load approved quota requests: %w", err)
	}
	for _, r := range raises {
		st.raises[r.UnitID] = r
	}
	return st, nil
}

// unitPlan is a unit as the import leaves it.
type unitPlan struct {
	name, parent, code string
	sort               int
	quota              *int
	existing           *dbUnit
	changed            bool
}

// accountPlan is an account the import creates or changes.
type accountPlan struct {
	login, name, unit, mobile, email, status string
	roles                                    []string
	existing                                 *dbAccount
	rolesChanged                             bool
}

type importPlan struct {
	units         []*unitPlan
	accounts      []*accountPlan
	unitCounts    Counts
	accountCounts Counts
	quotas        []QuotaChange
	problems      []RowError
}

func (p *importPlan) bad(row int, field, code, format string, args ...any) {
	p.problems = append(p.problems, RowError{Row: row, Column: headerOf(field), Code: code, Message: fmt.Sprintf(format, args...)})
}

// planImport works out what the file changes in the county, and what in
// it cannot be: unknown parents and roles, cycles, codes taken, quotas
// exceeded.
func planImport(recs records, st *orgState, present map[string]bool) *importPlan {
	p := &importPlan{}
	parentOf := map[string]string{}
	for name, u := range st.units {
		if u.ParentID.Valid {
			parentOf[name] = st.unitNames[u.ParentID.Int64]
		}
	}
	codeOwner := map[string]string{}
	for name, u := range st.units {
		if u.Code != "" {
			codeOwner[u.Code] = name
		}
	}
	plans := map[string]*unitPlan{}
	for _, name := range recs.order {
		line := recs.units[name]
		up := &unitPlan{name: name, existing: st.units[name]}
		if e := up.existing; e != nil {
			up.parent, up.code, up.sort = parentOf[name], e.Code, e.Sort
			if e.Quota.Valid {
				q := int(e.Quota.Int32)
				up.quota = &q
			}
		}
		if present[colParent] {
			up.parent = line.parent
		}
		if present[colUnitCode] && line.code != "" {
			up.code = line.code
		}
		if line.sort != nil {
			up.sort = *line.sort
		}
		if line.quota != nil {
			up.quota = line.quota
			if e := up.existing; e != nil {
				p.quotas = append(p.quotas, quotaChange(st, e, up, line.quota)...)
			}
		}
		if up.parent != "" && recs.units[up.parent] == nil && st.units[up.parent] == nil {
			p.bad(line.row, colParent, RowUnknownParent, "parent unit %s is neither in the file nor in the county", up.parent)
		}
		if owner, taken := codeOwner[up.code]; up.code != "" && taken && owner != name {
			p.bad(line.row, colUnitCode, RowConflict, "unit code %s belongs to %s", up.code, owner)
		}
		if up.code != "" {
			codeOwner[up.code] = name
		}
		if up.parent == "" {
			delete(parentOf, name)
		} else {
			parentOf[name] = up.parent
		}
		e := up.existing
		up.changed = e == nil || up.parent != parentOfExisting(st, e) || up.code != e.Code || up.sort != e.Sort || !sameQuota(up.quota, e.Quota)
		count(&p.unitCounts, e == nil, up.changed)
		plans[name] = up
		p.units = append(p.units, up)
	}
	for _, name := range recs.order {
		if cycle := findCycle(name, parentOf); cycle != nil {
			p.bad(recs.units[name].row, colParent, RowCycle, "units would form a cycle: %s", strings.Join(cycle, " → "))
		}
	}

	active := map[string]int{}
	for _, a := range st.accounts {
		if a.Status == StatusActive {
			active[st.unitNames[a.UnitID]]++
		}
	}
	for _, line := range recs.accounts {
		ap := &accountPlan{login: line.login, name: line.name, unit: line.unit, existing: st.accounts[line.login], status: StatusActive}
		e := ap.existing
		if e != nil {
			ap.mobile, ap.email, ap.roles, ap.status = e.Mobile, e.Email, e.roles, e.Status
		}
		if line.hasMobile {
			ap.mobile = line.mobile
		}
		if line.hasMail {
			ap.email = line.email
		}
		if line.hasRoles {
			var codes []string
			for _, key := range line.roles {
				if auth.IsReservedRole(key) {
					p.bad(line.row, colRoles, RowReservedRole, "role %s is reserved by the platform; a county cannot give it", key)
					continue
				}
				r, ok := st.roles[key]
				if !ok {
					p.bad(line.row, colRoles, RowUnknownRole, "role %s does not exist in the county", key)
					continue
				}
				if !slices.Contains(codes, r.Code) {
					codes = append(codes, r.Code)
				}
			}
			sort.Strings(codes)
			ap.roles = codes
		}
		if line.repeat {
			continue
		}
		if ap.status == StatusActive {
			if e != nil && e.Status == StatusActive {
				active[st.unitNames[e.UnitID]]--
			}
			active[ap.unit]++
		}
		if line.flawed {
			continue
		}
		if e == nil {
			ap.rolesChanged = len(ap.roles) > 0
		} else {
			ap.rolesChanged = !slices.Equal(ap.roles, e.roles)
		}
		changed := e == nil || ap.rolesChanged || ap.name != e.Name || ap.unit != st.unitNames[e.UnitID] || ap.mobile != e.Mobile || ap.email != e.Email
		count(&p.accountCounts, e == nil, changed)
		if changed {
			p.accounts = append(p.accounts, ap)
		}
	}
	for _, name := range recs.order {
		if q := plans[name].quota; q != nil && active[name] > *q {
			line := recs.units[name]
			p.bad(line.row, colQuota, RowQuota, "unit %s would have %d active accounts, over its quota of %d; raise the quota or move accounts", name, active[name], *q)
		}
	}
	return p
}

// quotaChange keeps the raise of an approved quota request that is in
// force (the unit's quota is at least what it approved) against a file
// asking for less, and reports what happens to the quota of unit e.
func quotaChange(st *orgState, e *dbUnit, up *unitPlan, file *int) []QuotaChange {
	var before *int
	if e.Quota.Valid {
		q := int(e.Quota.Int32)
		before = &q
	}
	c := QuotaChange{Unit: e.Name, Before: before, After: file}
	if r, ok := st.raises[e.ID]; ok && *file < r.Quota && (before == nil || *before >= r.Quota) {
		kept := r.Quota
		up.quota, c.After, c.File, c.Request = &kept, &kept, file, r.ID
	}
	if c.File == nil && sameQuota(c.After, e.Quota) {
		return nil
	}
	return []QuotaChange{c}
}

// renewals are the accounts the plan moves to another unit or gives other
// roles: their tokens must not outlive the change.
func (p *importPlan) renewals(st *orgState) []int64 {
	var ids []int64
	for _, a := range p.accounts {
		if e := a.existing; e != nil && (a.rolesChanged || a.unit != st.unitNames[e.UnitID]) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func parentOfExisting(st *orgState, u *dbUnit) string {
	if !u.ParentID.Valid {
		return ""
	}
	return st.unitNames[u.ParentID.Int64]
}

func sameQuota(a *int, b sql.NullInt32) bool {
	if a == nil || !b.Valid {
		return a == nil && !b.Valid
	}
	return int32(*a) == b.Int32
}

func count(c *Counts, created, changed bool) {
	switch {
	case created:
		c.Created++
	case changed:
		c.Updated++
	default:
		c.Unchanged++
	}
}

// findCycle returns the cycle reached by going up from name, if any.
func findCycle(name string, parentOf map[string]string) []string {
	seen := map[string]bool{}
	path := []string{name}
	for at := name; ; {
		seen[at] = true
		parent, ok := parentOf[at]
		if !ok {
			return nil
		}
		path = append(path, parent)
		if parent == name {
			return path
		}
		if seen[parent] {
			return nil
		}
		at = parent
	}
}

// apply writes the plan in the import's transaction: units first (new
// ones, then every unit's parent, code, order and quota), then accounts,
// then the roles of accounts whose roles changed; in batches, so that a
// staffing list of 100k rows takes seconds.
func (p *importPlan) apply(ctx context.Context, tx *sqlx.Tx, st *orgState) error {
	t := now()
	var fresh []*unitPlan
	for _, u := range p.units {
		if u.existing == nil {
			fresh = append(fresh, u)
		}
	}
	for batch := range slices.Chunk(fresh, batchSize) {
		args := make([]any, 0, 4*len(batch))
		for _, u := range batch {
			args = append(args, u.name, t, t)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO units (name, created_at, updated_at) VALUES (?, ?, ?)"+
			strings.Repeat(", (?, ?, ?)", len(batch)-1), args...); err != nil {
			return fmt.Errorf("create units: %w", err)
		}
	}
	unitIDs, err := idsByKey(ctx, tx, "SELECT id, name AS k FROM units")
	if err != nil {
		return err
	}
	for _, u := range p.units {
		if !u.changed {
			continue
		}
		var parent *int64
		if u.parent != "" {
			id := unitIDs[u.parent]
			parent = &id
		}
		if _, err := tx.ExecContext(ctx, "UPDATE units SET parent_id = ?, code = ?, sort_order = ?, account_quota = ?, updated_at = ? WHERE id = ?",
			parent, nullString(u.code), u.sort, u.quota, t, unitIDs[u.name]); err != nil {
			return fmt.Errorf("update unit %s: %w", u.name, err)
		}
	}
	if len(p.accounts) > 0 {
		if err := notify.DirectoryChanged(ctx, tx); err != nil {
			return err
		}
	}
	for batch := range slices.Chunk(p.accounts, batchSize) {
		args := make([]any, 0, 8*len(batch))
		for _, a := range batch {
			args = append(args, a.login, a.name, unitIDs[a.unit], nullString(a.mobile), nullString(a.email), a.status, t, t)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (login, name, unit_id, mobile, email, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?)", len(batch)-1)+`
ON DUPLICATE KEY UPDATE name = VALUES(name), unit_id = VALUES(unit_id), mobile = VALUES(mobile), email = VALUES(email), updated_at = VALUES(updated_at)`, args...)
		if err != nil {
			return fmt.Errorf("write accounts: %w", err)
		}
	}
	var relinked []*accountPlan
	for _, a := range p.accounts {
		if a.rolesChanged {
			relinked = append(relinked, a)
		}
	}
	if len(relinked) == 0 {
		return nil
	}
	accountIDs, err := idsByKey(ctx, tx, "SELECT id, login AS k FROM accounts")
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(relinked, batchSize) {
		ids := make([]any, len(batch))
		var links []any
		for i, a := range batch {
			ids[i] = accountIDs[a.login]
			for _, code := range a.roles {
				links = append(links, accountIDs[a.login], st.roles[code].ID)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM account_roles WHERE account_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", ids...); err != nil {
			return fmt.Errorf("replace account roles: %w", err)
		}
		if len(links) > 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO account_roles (account_id, role_id) VALUES (?, ?)"+strings.Repeat(", (?, ?)", len(links)/2-1), links...); err != nil {
				return fmt.Errorf("replace account roles: %w", err)
			}
		}
	}
	return nil
}

func idsByKey(ctx context.Context, q querier, query string) (map[string]int64, error) {
	var rows []struct {
		ID int64  `db:"id"`
		K  string `db:"k"`
	}
	if err := q.SelectContext(ctx, &rows, query); err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(rows))
	for _, r := range rows {
		ids[r.K] = r.ID
	}
	return ids, nil
}

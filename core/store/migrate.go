package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Migration is one numbered SQL file. Its statements are separated by a
// semicolon at the end of a line; lines starting with -- are comments.
// Statements must be safe to run again (CREATE TABLE IF NOT EXISTS,
// INSERT IGNORE), because MySQL cannot roll DDL back: a crash between a
// statement and the record of its migration re-runs the migration. An
// ALTER TABLE that adds a column, key or foreign key, or drops one, which
// MySQL cannot say conditionally, is taken as done when the database
// answers that it was (alreadyDone).
type Migration struct {
	Version    int64
	Name       string
	Statements []string
}

// Migrations is an ordered set of migrations for one kind of schema, and
// optionally a snapshot: the schema as all migrations up to some version
// leave it, so that a new schema is created in one step instead of by
// replaying its whole history.
type Migrations struct {
	list     []Migration
	snapshot *Migration
}

var (
	migrationFile = regexp.MustCompile(`^(\d{5})_([a-z0-9_]+)\.sql$`)
	snapshotFile  = regexp.MustCompile(`^snapshot_(\d{5})\.sql$`)
)

// LoadMigrations reads every NNNNN_name.sql file in fsys's root, and the
// snapshot_NNNNN.sql file if there is one.
func LoadMigrations(fsys fs.FS) (*Migrations, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	m := &Migrations{}
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		if snap := snapshotFile.FindStringSubmatch(e.Name()); snap != nil {
			if m.snapshot != nil {
				return nil, fmt.Errorf("snapshot %s: there is one already", e.Name())
			}
			version, _ := strconv.ParseInt(snap[1], 10, 64)
			stmts, err := readStatements(fsys, e.Name())
			if err != nil {
				return nil, err
			}
			m.snapshot = &Migration{Version: version, Name: "snapshot", Statements: stmts}
			continue
		}
		match := migrationFile.FindStringSubmatch(e.Name())
		if match == nil {
			return nil, fmt.Errorf("migration %s: name must be NNNNN_name.sql or snapshot_NNNNN.sql", e.Name())
		}
		version, _ := strconv.ParseInt(match[1], 10, 64)
		if prev, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), version)
		}
		seen[version] = e.Name()
		stmts, err := readStatements(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		m.list = append(m.list, Migration{Version: version, Name: match[2], Statements: stmts})
	}
	if len(m.list) == 0 {
		return nil, fmt.Errorf("no migrations found")
	}
	sort.Slice(m.list, func(i, j int) bool { return m.list[i].Version < m.list[j].Version })
	if m.snapshot != nil {
		if _, ok := seen[m.snapshot.Version]; !ok {
			return nil, fmt.Errorf("snapshot_%05d.sql: there is no migration %05d it could stand for", m.snapshot.Version, m.snapshot.Version)
		}
	}
	return m, nil
}

func readStatements(fsys fs.FS, name string) ([]string, error) {
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read migration %s: %w", name, err)
	}
	stmts, err := splitStatements(string(body))
	if err != nil {
		return nil, fmt.Errorf("migration %s: %w", name, err)
	}
	return stmts, nil
}

// WithoutSnapshot is the same set replaying every migration, to check a
// snapshot against the history it stands for.
func (m *Migrations) WithoutSnapshot() *Migrations {
	return &Migrations{list: m.list}
}

func splitStatements(body string) ([]string, error) {
	var stmts []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(line, ";") {
			stmt := strings.TrimSpace(strings.TrimSuffix(cur.String(), ";"))
			if stmt == "" {
				return nil, fmt.Errorf("empty statement")
			}
			stmts = append(stmts, stmt)
			cur.Reset()
			continue
		}
		cur.WriteByte('\n')
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("last statement does not end with ';'")
	}
	if len(stmts) == 0 {
		return nil, fmt.Errorf("no statements")
	}
	return stmts, nil
}

// Latest is the highest version in the set.
func (m *Migrations) Latest() int64 { return m.list[len(m.list)-1].Version }

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
version BIGINT NOT NULL,
name VARCHAR(255) NOT NULL,
applied_at DATETIME(6) NOT NULL,
PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`

// Current returns the highest applied version in q's default schema, 0 for
// a schema never migrated.
func (m *Migrations) Current(ctx context.Context, q Querier) (int64, error) {
	applied, err := appliedVersions(ctx, q)
	if err != nil {
		return 0, err
	}
	var current int64
	for v := range applied {
		current = max(current, v)
	}
	return current, nil
}

func appliedVersions(ctx context.Context, q Querier) (map[int64]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		if isMissingTable(err) {
			return map[int64]bool{}, nil
		}
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// Up applies every migration not yet applied to q's default schema and
// returns the version reached. The caller serialises concurrent runs on
// one schema (a named lock).
func (m *Migrations) Up(ctx context.Context, q Querier) (int64, error) {
	if _, err := q.ExecContext(ctx, createVersionTable); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, q)
	if err != nil {
		return 0, err
	}
	for v := range applied {
		if v > m.Latest() {
			return 0, fmt.Errorf("schema is at version %d, newer than this binary knows (%d): upgrade countycloud", v, m.Latest())
		}
	}
	if len(applied) == 0 && m.snapshot != nil {
		if err := m.applySnapshot(ctx, q); err != nil {
			return 0, err
		}
		for _, mig := range m.list {
			applied[mig.Version] = mig.Version <= m.snapshot.Version
		}
	}
	for _, mig := range m.list {
		if applied[mig.Version] {
			continue
		}
		for i, stmt := range mig.Statements {
			if _, err := q.ExecContext(ctx, stmt); err != nil && !alreadyDone(err) {
				return 0, fmt.Errorf("migration %05d_%s statement %d: %w", mig.Version, mig.Name, i+1, err)
			}
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			mig.Version, mig.Name, time.Now().UTC()); err != nil {
			return 0, fmt.Errorf("record migration %05d_%s: %w", mig.Version, mig.Name, err)
		}
	}
	return m.Latest(), nil
}

// applySnapshot creates a fresh schema from the snapshot and records every
// migration it stands for, in one statement, so that a crash leaves either
// none of them recorded (and the snapshot, whose statements may run again,
// is applied anew) or all.
func (m *Migrations) applySnapshot(ctx context.Context, q Querier) error {
	for i, stmt := range m.snapshot.Statements {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("snapshot %05d statement %d: %w", m.snapshot.Version, i+1, err)
		}
	}
	var rows []string
	var args []any
	now := time.Now().UTC()
	for _, mig := range m.list {
		if mig.Version > m.snapshot.Version {
			break
		}
		rows = append(rows, "(?, ?, ?)")
		args = append(args, mig.Version, mig.Name, now)
	}
	_, err := q.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES "+strings.Join(rows, ", "), args...)
	if err != nil {
		return fmt.Errorf("record snapshot %05d: %w", m.snapshot.Version, err)
	}
	return nil
}

// alreadyDone says whether err is the database's answer to a schema change
// that an earlier, interrupted run of the same migration made: the column,
// key, table or foreign key is there already, or what it drops is gone.
func alreadyDone(err error) bool {
	var my *mysql.MySQLError
	if !errors.As(err, &my) {
		return false
	}
	switch my.Number {
	case 1050, // ER_TABLE_EXISTS_ERROR
		1060, // ER_DUP_FIELDNAME
		1061, // ER_DUP_KEYNAME
		1091, // ER_CANT_DROP_FIELD_OR_KEY
		1826: // ER_FK_DUP_NAME (MySQL)
		return true
	case 1005: // ER_CANT_CREATE_TABLE: MariaDB's for a foreign key whose name is taken
		return strings.Contains(my.Message, "errno: 121")
	}
	return false
}

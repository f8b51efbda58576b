package store

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed migrations/control/*.sql migrations/tenant/*.sql
var migrationFiles embed.FS

// ControlMigrations are the control plane's migrations.
func ControlMigrations() *Migrations { return mustLoad("migrations/control") }

// TenantMigrations are the migrations of every county's schema.
func TenantMigrations() *Migrations { return mustLoad("migrations/tenant") }

// TenantMigrationFiles are the files TenantMigrations are read from, for a
// set that adds migrations of its own (the benchmark's).
func TenantMigrationFiles() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations/tenant")
	if err != nil {
		panic(fmt.Sprintf("store: embedded migrations/tenant: %v", err))
	}
	return sub
}

// mustLoad panics because the files are compiled in: a bad one is a build
// defect that the package tests catch, never a runtime condition.
func mustLoad(dir string) *Migrations {
	sub, err := fs.Sub(migrationFiles, dir)
	if err == nil {
		var m *Migrations
		if m, err = LoadMigrations(sub); err == nil {
			return m
		}
	}
	panic(fmt.Sprintf("store: embedded %s: %v", dir, err))
}

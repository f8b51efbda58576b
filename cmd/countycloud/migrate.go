package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// migrateReport is what `migrate -o json` prints.
type migrateReport struct {
	DryRun       bool               `json:"dry_run"`
	ControlPlane int64              `json:"control_plane_version"`
	Latest       int64              `json:"county_version"`
	Counties     []provision.Result `json:"counties"`
	Failed       int                `json:"failed"`
}

func newMigrateCmd(e env) *cobra.Command {
	var cfg config.Database
	var only []string
	var dryRun bool
	var output string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the control plane and every county to the current schema version",
		Long: `Migrate the control plane, then every provisioned county whose schema is
behind, --provision-concurrency counties at a time. It reaches the databases
directly (as a Kubernetes job runs it), with the server's database settings.

A county that fails is reported and the others go on; the exit code is then 1.
A run that is killed is finished by running it again. When nothing is pending,
the whole check is one query over the control plane.`,
		Example: `  countycloud migrate --mysql-dsn 'cc:secret@tcp(db:3306)/countycloud'
  countycloud migrate --dry-run -o json
  countycloud migrate --only gd.shaoguan.wengyuan,gd.shaoguan.lechang`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.ApplyEnv(cmd.Flags(), e.lookup); err != nil {
				return usageError("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			if err := cfg.Validate(false); err != nil {
				return usageError("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			if output != "table" && output != "json" {
				return usageError("--output %q: use table or json", output)
			}
			for _, code := range only {
				if _, err := registry.ParseCode(code); err != nil {
					return usageError("--only: %v", err)
				}
			}
			return runMigrate(cmd, e, cfg, only, dryRun, output)
		},
	}
	cfg.RegisterFlags(cmd.Flags())
	cmd.Flags().StringSliceVar(&only, "only", nil, "migrate only these counties (comma-separated codes)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be migrated; change nothing")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func runMigrate(cmd *cobra.Command, e env, cfg config.Database, only []string, dryRun bool, output string) error {
	ctx := cmd.Context()
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	control, _ := cfg.MySQLConfig()
	db, err := openDatabases(cfg, control, log)
	if err != nil {
		return err
	}
	defer db.close()
	report := migrateReport{DryRun: dryRun, Latest: store.TenantMigrations().Latest()}
	controlMigs := store.ControlMigrations()
	if dryRun {
		report.ControlPlane, err = controlMigs.Current(ctx, db.control)
	} else {
		report.ControlPlane, err = db.migrateControl(ctx, controlMigs)
	}
	if err != nil {
		return &exitError{code: exitUnavailable, err: fmt.Errorf("control plane: %w", err)}
	}
	bar := newProgressBar(e.stderr, "migrating counties")
	var failed atomic.Int64
	prov := provision.New(db.clusters, store.TenantMigrations(), log)
	report.Counties, err = prov.FanOut(ctx, registry.NewMySQLRepository(db.control), db.locks, provision.FanOutOptions{
		Only:    only,
		Workers: cfg.ProvisionConcurrency,
		DryRun:  dryRun,
		Progress: func(done, total int, r provision.Result) {
			if r.Outcome == provision.OutcomeFailed {
				failed.Add(1)
			}
			bar.update(done, total, int(failed.Load()))
		},
	})
	bar.finish()
	if err != nil {
		return err
	}
	report.Failed = int(failed.Load())
	if output == "json" {
		if err := printJSON(e.stdout, report); err != nil {
			return err
		}
	} else if err := printMigrateTable(e.stdout, report); err != nil {
		return err
	}
	if report.Failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%d of %d counties failed to migrate; fix the cause and run countycloud migrate again", report.Failed, len(report.Counties))}
	}
	return nil
}

func printMigrateTable(w io.Writer, r migrateReport) error {
	if len(r.Counties) == 0 {
		_, err := fmt.Fprintf(w, "Nothing to migrate: the control plane is at version %d and every provisioned county at %d.\n", r.ControlPlane, r.Latest)
		return err
	}
	rows := make([][]string, len(r.Counties))
	for i, c := range r.Counties {
		rows[i] = []string{c.Code, c.Cluster, fmt.Sprint(c.From), fmt.Sprint(c.To), c.Outcome, fmt.Sprintf("%dms", c.DurationMS), c.Error}
	}
	if err := printTable(w, []string{"CODE", "CLUSTER", "FROM", "TO", "RESULT", "TIME", "ERROR"}, rows); err != nil {
		return err
	}
	verb := "migrated"
	if r.DryRun {
		verb = "would migrate"
	}
	_, err := fmt.Fprintf(w, "Control plane at version %d; %s %d counties to version %d, %d failed.\n", r.ControlPlane, verb, len(r.Counties)-r.Failed, r.Latest, r.Failed)
	return err
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/host/sandbox"
	"github.com/countycloud/countycloud/tenants/seals"
)

func newServerCmd(e env) *cobra.Command {
	var cfg config.Server
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the CountyCloud server",
		Long: `Run the CountyCloud server: the HTTP API, /metrics, /healthz and /readyz.

Every flag can also be set by an environment variable named COUNTYCLOUD_ and the
flag's name in capitals, dashes as underscores (--mysql-dsn: COUNTYCLOUD_MYSQL_DSN).
A flag given on the command line wins. The keys of the --s3-bucket store are
read from COUNTYCLOUD_S3_ACCESS_KEY and COUNTYCLOUD_S3_SECRET_KEY only: they have
no flags, whose values ps would show.

On first start the server creates its control-plane schema, migrates it and
prints a bootstrap operator token once. If the database is down, the server
keeps running, reports not ready on /readyz and retries until it returns.

With -dev it runs an embedded in-memory database instead, seeded with a demo
province; nothing is kept.`,
		Example: `  countycloud server -dev
  countycloud server -dev -dev-root-token devtoken123
  COUNTYCLOUD_MYSQL_DSN='cc:secret@tcp(db:3306)/countycloud' countycloud server --addr :8080`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Before any secret is read: no process of this user, a
			// plugin's among them, reads this one's memory.
			if err := sandbox.KeepSecrets(); err != nil {
				return err
			}
			if err := config.ApplyEnv(cmd.Flags(), e.lookup); err != nil {
				return usageError("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			cfg.S3.ReadKeys(e.lookup)
			cfg.Stripe.ReadKey(e.lookup)
			if err := cfg.Validate(); err != nil {
				return usageError("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return serve(cmd.Context(), cfg, e)
		},
	}
	cfg.RegisterFlags(cmd.Flags())
	return cmd
}

// devDatabase is the embedded engine of -dev.
type devDatabase interface {
	Config(database string) *mysql.Config
	Close() error
}

func serve(ctx context.Context, cfg config.Server, e env) error {
	level, _ := cfg.SlogLevel()
	log := slog.New(kit.LogHandler{Handler: slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level})})
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	var dbcfg *mysql.Config
	if cfg.Dev && cfg.FileSigningKey == "" {
		tmp, err := os.MkdirTemp("", "countycloud-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cfg.FileDir = tmp
	}
	if cfg.Dev {
		engine, err := startDevEngine()
		if err != nil {
			return err
		}
		defer engine.Close()
		dbcfg = engine.Config(config.DefaultControlSchema)
	} else {
		var err error
		if dbcfg, err = cfg.MySQLConfig(); err != nil {
			return err
		}
	}
	addr, _ := cfg.ListenAddr()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w; is another server running there? choose another with --addr", addr, err)
	}
	if cfg.PublicURL == "" {
		// The address really listened on: --addr may name port 0 or no
		// host.
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	announce := func(token string) { printBootstrapToken(e, token) }
	if cfg.Dev {
		announce = func(token string) { printDevBanner(e, ln.Addr().String(), token, dbcfg.Addr) }
	}
	p, err := newPlatform(cfg, dbcfg, log, announce)
	if err != nil {
		return err
	}
	defer p.close()
	// A wrong --seal-key stops the start here, where it is said once and
	// plainly, rather than in the start-up's retries. A control plane not
	// yet migrated has nothing to check: the start-up keeps the check.
	if err := p.seals.CheckKey(ctx); errors.Is(err, seals.ErrWrongKey) {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "dev", cfg.Dev, "control_schema", dbcfg.DBName)
	supervising := make(chan struct{})
	go func() {
		defer close(supervising)
		p.plugins.Manager().Run(ctx)
	}()
	// In dev mode the demo counties are ready before the first request is
	// served: whoever waits for the server to answer finds them, as the
	// README's tour does. Requests wait in the listener's queue meanwhile.
	var started error
	if cfg.Dev {
		started = retry(ctx, log, "start-up", p.start)
		if started == nil {
			started = retry(ctx, log, "dev demo data", p.seedDemo)
		}
	}
	working := make(chan struct{})
	go func() {
		defer close(working)
		err := started
		if err == nil && !cfg.Dev {
			err = retry(ctx, log, "start-up", p.start)
		}
		if err == nil {
			err = retry(ctx, log, "resume interrupted provisioning", p.resume)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("start-up stopped", "err", err)
		}
		if err == nil && cfg.Workers > 0 {
			p.worker().Run(ctx)
		}
	}()
	err = kit.Serve(ctx, ln, p.handler(), cfg.ShutdownTimeout, log)
	// The worker hands back the leases of the jobs it could not finish;
	// the plugin processes are stopped.
	<-working
	<-supervising
	return err
}

// retry runs fn until it succeeds or ctx ends, backing off exponentially
// (with jitter, so replicas do not hammer a recovering database in step).
func retry(ctx context.Context, log *slog.Logger, what string, fn func(context.Context) error) error {
	delay := 500 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		wait := delay/2 + rand.N(delay/2)
		log.Warn(what+" failed; retrying", "err", err.Error(), "retry_in", wait.Round(time.Millisecond).String())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func printBootstrapToken(e env, token string) {
	fmt.Fprintf(e.stderr, `
==> Bootstrap operator token, shown this once. Keep it in your secret store now:

    %s

`, token)
}

func printDevBanner(e env, addr, token, dbAddr string) {
	fmt.Fprintf(e.stderr, `
==> CountyCloud is running in DEV mode. NOTHING IS KEPT: the database lives in
    memory and is gone when this process ends. Never use -dev in production.

    API:       http://%[1]s
    Token:     %[2]s
    Database:  embedded engine at %[3]s (user root, no password)

    export COUNTYCLOUD_ADDR=http://%[1]s
    export COUNTYCLOUD_TOKEN=%[2]s
    countycloud tenant list

`, addr, token, dbAddr)
}

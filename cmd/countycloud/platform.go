package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// defaultCluster is the cluster of the --mysql-dsn host.
const defaultCluster = "default"

// platform wires the packages into one running server.
type platform struct {
	cfg           config.Server
	log           *slog.Logger
	controlSchema string
	control       *sqlx.DB
	// cluster is the default cluster, on the control plane's host.
	cluster     *store.Cluster
	locks       *store.Locker
	pools       map[string]*sqlx.DB
	controlMigs *store.Migrations
	tokens      *auth.OperatorTokens
	tenants     registry.Service
	metrics     *prometheus.Registry
	// announce shows the bootstrap token the one time it is created.
	announce func(token string)
}

func newPlatform(cfg config.Server, dbcfg *mysql.Config, log *slog.Logger, announce func(string)) *platform {
	serverCfg := dbcfg.Clone()
	serverCfg.DBName = ""
	pools := map[string]*sqlx.DB{
		"control": store.Open(dbcfg, cfg.DBMaxOpenConns, log),
		// One connection per provisioning in flight, each holding its
		// county's lock: this pool's cap is the replica's concurrency.
		"locks":                     store.Open(serverCfg, cfg.ProvisionConcurrency, log),
		"cluster_" + defaultCluster: store.Open(serverCfg, cfg.DBMaxOpenConns, log),
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for name, db := range pools {
		metrics.MustRegister(collectors.NewDBStatsCollector(db.DB, name))
	}
	control := pools["control"]
	locks := store.NewLocker(pools["locks"], dbcfg.DBName+":")
	clusters := store.Clusters{defaultCluster: store.NewCluster(defaultCluster, pools["cluster_"+defaultCluster])}
	prov := provision.New(clusters, store.TenantMigrations(), log)
	tenants := registry.NewService(registry.NewMySQLRepository(control), locks, prov,
		registry.Options{SchemaPrefix: cfg.SchemaPrefix, Cluster: defaultCluster}, log)
	return &platform{
		cfg:           cfg,
		log:           log,
		controlSchema: dbcfg.DBName,
		control:       control,
		cluster:       clusters[defaultCluster],
		locks:         locks,
		pools:         pools,
		controlMigs:   store.ControlMigrations(),
		tokens:        auth.NewOperatorTokens(control),
		tenants:       tenants,
		metrics:       metrics,
		announce:      announce,
	}
}

func (p *platform) close() {
	for _, db := range p.pools {
		db.Close()
	}
}

// start brings the control plane up: its schema, its migrations (one
// replica at a time) and the bootstrap operator token.
func (p *platform) start(ctx context.Context) error {
	if err := p.cluster.EnsureSchema(ctx, p.controlSchema); err != nil {
		return err
	}
	release, err := p.locks.Lock(ctx, "migrate", time.Minute)
	if err != nil {
		return err
	}
	version, err := p.controlMigs.Up(ctx, p.control)
	release()
	if err != nil {
		return err
	}
	p.log.Info("control plane migrated", "schema", p.controlSchema, "version", version)
	token, err := p.tokens.Bootstrap(ctx, p.cfg.DevRootToken)
	if err != nil {
		return err
	}
	if token != "" {
		p.log.Info("bootstrap operator token created")
		p.announce(token)
	}
	return nil
}

func (p *platform) resume(ctx context.Context) error {
	n, err := registry.Resume(ctx, p.tenants, p.log)
	if n > 0 {
		p.log.Info("interrupted provisioning finished", "counties", n)
	}
	return err
}

// demoTenants seed dev mode: a province with a city and a few of its
// counties, and a district directly under a municipality. Wengyuan is left
// out for the README's tour to create.
var demoTenants = []registry.CreateRequest{
	{Code: "gd", Name: "广东省"},
	{Code: "gd.shaoguan", Name: "韶关市"},
	{Code: "gd.shaoguan.shixing", Name: "始兴县"},
	{Code: "gd.shaoguan.renhua", Name: "仁化县"},
	{Code: "gd.shaoguan.ruyuan", Name: "乳源瑶族自治县"},
	{Code: "bj", Name: "北京市"},
	{Code: "bj.haidian", Name: "海淀区", Level: string(registry.LevelCounty)},
}

func (p *platform) seedDemo(ctx context.Context) error {
	for _, req := range demoTenants {
		_, err := p.tenants.Create(ctx, req)
		if err != nil && errs.CodeOf(err) != registry.CodeTenantExists {
			return fmt.Errorf("demo tenant %s: %w", req.Code, err)
		}
	}
	p.log.Info("dev demo data seeded", "tenants", len(demoTenants))
	return nil
}

// ready is /readyz's check: the control plane answers and is migrated at
// least to the version this binary expects. A newer control plane is fine:
// migrations only add (expand, then contract in a later release), so the
// old replicas of a rolling upgrade keep serving after the first new one
// migrated. Details go to the log, not to the unauthenticated caller.
func (p *platform) ready(ctx context.Context) error {
	v, err := p.controlMigs.Current(ctx, p.control)
	if err != nil {
		return errors.New("database unreachable")
	}
	if want := p.controlMigs.Latest(); v < want {
		return fmt.Errorf("control plane at migration %d, this binary needs %d", v, want)
	}
	return nil
}

func (p *platform) handler() http.Handler {
	opts := kit.ServerOptions(p.log, httptransport.ServerBefore(auth.BearerToContext))
	routes := kit.HealthRoutes(kit.Check{Name: "database", Run: p.ready})
	routes = append(routes, registry.Routes(registry.MakeEndpoints(p.tenants, auth.RequireOperator(p.tokens)), opts...)...)
	return kit.Handler(p.log, p.metrics, routes...)
}

package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// databases are one process's ways to MySQL: the control plane's pool, ONE
// pool per cluster however many counties it holds, and a pool for named
// locks whose cap is the number of counties provisioned or migrated at
// once. The server, `migrate` and `bench` share them.
type databases struct {
	controlSchema string
	control       *sqlx.DB
	// webhooks is a small pool of the control plane whose transactions go
	// in one packet (store.OneTrip), for Stripe's deliveries.
	webhooks     *store.OneTrip
	clusters     store.Clusters
	clusterNames []string
	locks        *store.Locker
	pools        map[string]*sqlx.DB
	configs      map[string]*mysql.Config
}

// webhookConns caps the connections of the pool that stores Stripe's
// deliveries: a trickle, which a few connections keep up with.
const webhookConns = 4

func openDatabases(cfg config.Database, control *mysql.Config, log *slog.Logger) (*databases, error) {
	clusterCfgs, err := cfg.ClusterConfigs(control)
	if err != nil {
		return nil, err
	}
	d := &databases{
		controlSchema: control.DBName,
		control:       store.Open(control, cfg.DBMaxOpenConns, log),
		clusters:      store.Clusters{},
		clusterNames:  cfg.ClusterNames(),
		pools:         map[string]*sqlx.DB{},
		configs:       clusterCfgs,
	}
	d.pools["control"] = d.control
	webhooks, pool := store.OpenOneTrip(control, webhookConns, log)
	d.webhooks = webhooks
	d.pools["control_webhooks"] = pool
	locks := store.Open(clusterCfgs[config.DefaultCluster], cfg.ProvisionConcurrency, log)
	d.pools["locks"] = locks
	d.locks = store.NewLocker(locks, control.DBName+":")
	for name, c := range clusterCfgs {
		cluster, pool := store.OpenCluster(name, c, cfg.DBMaxOpenConns, log)
		d.pools["cluster_"+name] = pool
		d.clusters[name] = cluster
	}
	return d, nil
}

// registerMetrics exports every pool's statistics.
func (d *databases) registerMetrics(reg prometheus.Registerer) {
	for name, db := range d.pools {
		reg.MustRegister(collectors.NewDBStatsCollector(db.DB, name))
	}
}

func (d *databases) close() {
	for _, db := range d.pools {
		db.Close()
	}
}

// tenantService is the registry on these databases, provisioning county
// schemas with migrations.
func (d *databases) tenantService(cfg config.Database, migrations *store.Migrations, log *slog.Logger) registry.Service {
	prov := provision.New(d.clusters, migrations, log)
	return registry.NewService(registry.NewMySQLRepository(d.control), d.locks, prov,
		registry.Options{SchemaPrefix: cfg.SchemaPrefix, Clusters: d.clusterNames}, log)
}

// migrateControl creates the control-plane schema if need be and migrates
// it, one process at a time.
func (d *databases) migrateControl(ctx context.Context, migrations *store.Migrations) (int64, error) {
	if err := d.clusters[config.DefaultCluster].EnsureSchema(ctx, d.controlSchema); err != nil {
		return 0, err
	}
	release, err := d.locks.Lock(ctx, "migrate", time.Minute)
	if err != nil {
		return 0, err
	}
	defer release()
	return migrations.Up(ctx, d.control)
}

// locator finds where the counties' data lives, refuses those not
// served, and says whose writes are held for billing.
func (d *databases) locator() *registry.Locator {
	return registry.NewLocator(registry.NewMySQLRepository(d.control), registry.LocatorInterval)
}

// router reaches the data of the counties locator locates.
func (d *databases) router(locator store.Locator) *store.Router {
	return store.NewRouter(d.clusters, locator)
}

// clusterConfig is how to reach a cluster, for a pool of one's own.
func (d *databases) clusterConfig(name string) *mysql.Config { return d.configs[name] }

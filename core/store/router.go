package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Location is where a county's data lives.
type Location struct {
	Cluster string
	Schema  string
}

// Locator finds a county's location, refusing counties that cannot be
// served (the registry implements it).
type Locator interface {
	Locate(ctx context.Context, code string) (Location, error)
}

// Router is the one way to a county's data: it finds the county's cluster
// and schema and runs the work on a connection scoped to that schema.
type Router struct {
	clusters Clusters
	locator  Locator
}

// NewRouter routes through clusters to the schemas locator names.
func NewRouter(clusters Clusters, locator Locator) *Router {
	return &Router{clusters: clusters, locator: locator}
}

// Ready refuses, with the locator's reason, a code that is not a county
// whose data is served. It asks what the locator keeps, not the
// registry, so a request that checks it reads nothing more.
func (r *Router) Ready(ctx context.Context, code string) error {
	_, err := r.locator.Locate(ctx, code)
	return err
}

// InTenant runs fn on a connection whose default schema is the county's.
func (r *Router) InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error {
	cluster, schema, err := r.locate(ctx, code)
	if err != nil {
		return err
	}
	return cluster.InSchema(ctx, schema, fn)
}

// InTenantTx runs fn in a transaction on the county's schema, committed
// if fn returns nil and rolled back otherwise. What fn defers (Later)
// is written after it, before the commit.
func (r *Router) InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	cluster, schema, err := r.locate(ctx, code)
	if err != nil {
		return err
	}
	return cluster.InSchemaTx(ctx, schema, fn)
}

// InTenantTrip runs the statements build gives for the county's schema,
// quoted, as one transaction, in one round trip where the cluster allows
// it (Cluster.InSchemaTrip). The statements name their tables in full
// (`schema`.table); the schema comes from the locator, never from the
// caller.
func (r *Router) InTenantTrip(ctx context.Context, code string, build func(schema string) []TripStatement) error {
	cluster, schema, err := r.locate(ctx, code)
	if err != nil {
		return err
	}
	return cluster.InSchemaTrip(ctx, schema, build)
}

// ErrNotServed marks the locator's refusal of a county (not one, or not
// ready: suspended meanwhile), as against a fault on the way to it.
var ErrNotServed = errors.New("the county's data is not served")

func (r *Router) locate(ctx context.Context, code string) (*Cluster, string, error) {
	loc, err := r.locator.Locate(ctx, code)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrNotServed, err)
	}
	cluster, err := r.clusters.Get(loc.Cluster)
	return cluster, loc.Schema, err
}

// InTenantQualified gives a read the county's cluster pool and its
// schema, quoted, for statements that name their tables in full
// (`schema`.table): one round trip, with no USE before it. The schema
// comes from the locator, never from the caller.
func (r *Router) InTenantQualified(ctx context.Context, code string) (*sqlx.DB, string, error) {
	cluster, schema, err := r.locate(ctx, code)
	if err != nil {
		return nil, "", err
	}
	quoted, err := QuoteSchema(schema)
	if err != nil {
		return nil, "", err
	}
	return cluster.db, quoted, nil
}

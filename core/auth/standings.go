package auth

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// standing is what a token's holder is now: whether it may still sign in,
// and the security version of its roles, unit, status and password.
type standing struct {
	Active  bool  `db:"active"`
	Version int64 `db:"security_version"`
}

// accountRef names an account: its county and its id there.
type accountRef struct {
	tenant string
	id     int64
}

// standings remember accounts' standing for standingTTL, so that every
// request of an account is checked against it without a read of its
// county per request. A change made through this replica is seen at once
// (forget); one made through another replica within standingTTL, as a
// session revoked there is.
type standings struct {
	dir   directory
	known *ttlcache.Cache[accountRef, standing]
}

// standingTTL bounds how late a replica sees a change another made;
// maxStandings how many accounts it remembers (those active in the last
// second).
const (
	standingTTL  = time.Second
	maxStandings = 100_000
)

func newStandings(dir directory) *standings {
	return &standings{dir: dir, known: ttlcache.New[accountRef, standing](standingTTL, maxStandings)}
}

// of is the standing of account id in tenant.
func (s *standings) of(ctx context.Context, tenant string, id int64) (standing, error) {
	ref := accountRef{tenant, id}
	if st, ok := s.known.Get(ref); ok {
		return st, nil
	}
	mark := s.known.Mark()
	st, err := s.dir.standing(ctx, tenant, id)
	if err != nil {
		return standing{}, err
	}
	s.known.PutSince(mark, ref, st)
	return st, nil
}

// forget drops what is remembered of accounts ids of tenant.
func (s *standings) forget(tenant string, ids ...int64) {
	for _, id := range ids {
		s.known.Delete(accountRef{tenant, id})
	}
}

var (
	errAccountDisabled = errs.E(errs.KindUnauthenticated, CodeTokenRevoked, "this account is disabled or gone")
	errAccountChanged  = errs.E(errs.KindUnauthenticated, CodeTokenRevoked,
		"this account's roles, unit, status or password changed after this token was issued; log in again")
)

// check refuses the token of account principal p if the account is no
// longer active or its security version moved on.
func (s *standings) check(ctx context.Context, p Principal) error {
	if p.Kind != KindAccount {
		return nil
	}
	st, err := s.of(ctx, p.Tenant, p.ID)
	if err == nil && st.Version < p.SecurityVersion {
		// Versions only grow: a token newer than what is remembered (a
		// login through this replica right after a change made through
		// another) proves the memory stale.
		s.forget(p.Tenant, p.ID)
		st, err = s.of(ctx, p.Tenant, p.ID)
	}
	switch {
	case err != nil:
		return err
	case !st.Active:
		return errAccountDisabled
	case st.Version != p.SecurityVersion:
		return errAccountChanged
	}
	return nil
}

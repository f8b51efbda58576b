// Package audit keeps each county's audit trail (谁上网，谁负责): every
// write, and every refused request, says who did what to which object,
// when, from where, with digests of the object before and after. The trail
// lives in the county's schema and only grows: this package has no way to
// change or remove an entry, and the table's triggers refuse anyone who
// tries by hand.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/countycloud/countycloud/core/kit"
)

// Actor is who acted: the principal the guard admitted.
type Actor struct {
	Kind  string
	ID    int64
	Login string
	Unit  int64
}

type actorKey struct{}

// WithActor returns ctx carrying the actor that writes made under it are
// recorded against.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor of ctx; an anonymous one if none was set.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: "anonymous", Login: "anonymous"}
}

// Outcomes of an audited action.
const (
	OK      = "ok"
	Refused = "refused"
)

// Entry is one line of the trail.
type Entry struct {
	ID           int64     `json:"id" db:"id"`
	At           time.Time `json:"at" db:"at"`
	ActorKind    string    `json:"actor_kind" db:"actor_kind"`
	ActorID      *int64    `json:"actor_id,omitempty" db:"actor_id"`
	ActorLogin   string    `json:"actor_login" db:"actor_login"`
	UnitID       *int64    `json:"unit_id,omitempty" db:"unit_id"`
	Action       string    `json:"action" db:"action"`
	ObjectType   string    `json:"object_type" db:"object_type"`
	ObjectID     string    `json:"object_id" db:"object_id"`
	BeforeDigest *string   `json:"before_digest,omitempty" db:"before_digest"`
	AfterDigest  *string   `json:"after_digest,omitempty" db:"after_digest"`
	Outcome      string    `json:"outcome" db:"outcome"`
	Code         *string   `json:"code,omitempty" db:"code"`
	RequestID    string    `json:"request_id" db:"request_id"`
	Source       string    `json:"source" db:"source"`
}

// Execer is where an entry is written: the transaction of the write it
// records, so that the two commit or fail together.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Digest is the SHA-256 of v's JSON, nil for nil: enough to prove what an
// object was without copying personal data into the trail.
func Digest(v any) *string {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(b)
	d := hex.EncodeToString(sum[:])
	return &d
}

// New builds the entry for action on (objectType, objectID) by the actor
// and request of ctx.
func New(ctx context.Context, action, objectType, objectID string, before, after any) Entry {
	a := ActorFrom(ctx)
	e := Entry{
		At:         time.Now().UTC(),
		ActorKind:  a.Kind,
		ActorLogin: a.Login,
		Action:     action,
		ObjectType: objectType,
		ObjectID:   objectID,
		Outcome:    OK,
		RequestID:  kit.RequestID(ctx),
		Source:     kit.SourceAddr(ctx),
	}
	if a.ID != 0 {
		e.ActorID = &a.ID
	}
	if a.Unit != 0 {
		e.UnitID = &a.Unit
	}
	e.BeforeDigest, e.AfterDigest = Digest(before), Digest(after)
	return e
}

// Refusal is the entry of a request refused with code.
func Refusal(ctx context.Context, action, objectType, objectID, code string) Entry {
	e := New(ctx, action, objectType, objectID, nil, nil)
	e.Outcome = Refused
	e.Code = &code
	return e
}

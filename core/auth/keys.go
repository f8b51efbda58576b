package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/countycloud/countycloud/core/store"
	"github.com/golang-jwt/jwt/v4"
	"github.com/jmoiron/sqlx"
)

// KeyRing holds the keys that sign access tokens (HMAC-SHA256: only the
// platform's replicas sign and verify, and verifying costs a microsecond,
// not the tens an asymmetric signature would). Keys live in the control
// plane so that every replica verifies what any other signed; each replica
// keeps them in memory and reloads when it meets a kid it does not know.
type KeyRing struct {
	db *sqlx.DB
	// accessTTL bounds how long a retired key must go on verifying.
	accessTTL time.Duration

	mu       sync.Mutex
	keys     map[string][]byte
	signing  string
	loadedAt time.Time
}

// reloadEvery bounds how stale a replica's keys may be, and how often an
// unknown kid (a forged token, say) can make it read the table.
const reloadEvery = time.Second

// NewKeyRing returns the key ring on the control-plane pool.
func NewKeyRing(db *sqlx.DB, accessTTL time.Duration) *KeyRing {
	return &KeyRing{db: db, accessTTL: accessTTL}
}

type signingKey struct {
	Kid       string     `db:"kid"`
	Secret    []byte     `db:"secret"`
	CreatedAt time.Time  `db:"created_at"`
	RetiredAt *time.Time `db:"retired_at"`
}

func newKid() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Rotate adds a new signing key, retires the current ones and deletes
// keys retired long enough ago that nothing they signed is still valid.
func (k *KeyRing) Rotate(ctx context.Context) (string, error) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	kid := newKid()
	now := time.Now().UTC()
	err := store.InTx(ctx, k.db, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM signing_keys WHERE retired_at < ?", now.Add(-2*k.accessTTL)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO signing_keys (kid, secret, created_at) VALUES (?, ?, ?)", kid, secret, now)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing keys: %w", err)
	}
	k.mu.Lock()
	k.loadedAt = time.Time{}
	k.mu.Unlock()
	return kid, nil
}

// Ensure creates the first signing key unless there is one.
func (k *KeyRing) Ensure(ctx context.Context) error {
	var n int
	if err := k.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL"); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if n > 0 {
		return nil
	}
	_, err := k.Rotate(ctx)
	return err
}

// load reads the live keys, at most once per reloadEvery unless forced.
// k.mu is held.
func (k *KeyRing) load(ctx context.Context, force bool) error {
	if !force && time.Since(k.loadedAt) < reloadEvery && k.keys != nil {
		return nil
	}
	if force && time.Since(k.loadedAt) < reloadEvery/10 {
		return nil
	}
	var rows []signingKey
	if err := k.db.SelectContext(ctx, &rows, "SELECT kid, secret, created_at, retired_at FROM signing_keys ORDER BY created_at, kid"); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	keys := make(map[string][]byte, len(rows))
	signing := ""
	for _, r := range rows {
		keys[r.Kid] = r.Secret
		if r.RetiredAt == nil {
			signing = r.Kid
		}
	}
	k.keys, k.signing, k.loadedAt = keys, signing, time.Now()
	return nil
}

// sign signs claims with the current key.
func (k *KeyRing) sign(ctx context.Context, claims jwt.Claims) (string, error) {
	k.mu.Lock()
	if err := k.load(ctx, false); err != nil {
		k.mu.Unlock()
		return "", err
	}
	kid, secret := k.signing, k.keys[k.signing]
	k.mu.Unlock()
	if kid == "" {
		return "", errors.New("no signing key; the server creates one at start")
	}
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	token.Header["kid"] = kid
	return token.SignedString(secret)
}

// Keyfunc finds the key a token names, reloading once if it is unknown.
// go-kit's parser gives it no context, so a reload has its own deadline.
func (k *KeyRing) Keyfunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(ctx, false); err != nil {
		return nil, err
	}
	if secret, ok := k.keys[kid]; ok {
		return secret, nil
	}
	if err := k.load(ctx, true); err != nil {
		return nil, err
	}
	if secret, ok := k.keys[kid]; ok {
		return secret, nil
	}
	return nil, errUnknownKey
}

var errUnknownKey = errors.New("unknown signing key")

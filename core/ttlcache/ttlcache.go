// Package ttlcache keeps values for a short while, to spare the database a
// read per request for facts that change rarely and may be seen late by
// that while (a token's holder, a county's location and status).
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values that expire ttl after they were put. It holds
// at most max entries; when full, it is emptied, which costs a burst of
// misses and keeps the code free of an eviction policy.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[K]entry[V]
	// deletions counts the Deletes, for PutSince.
	deletions uint64
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns a cache keeping values for ttl, at most max of them.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, m: make(map[K]entry[V])}
}

// Get returns the value of key unless it is missing or expired.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !time.Now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put keeps value for key.
func (c *Cache[K, V]) Put(key K, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(key, value)
}

// store keeps value for key; c.mu is held.
func (c *Cache[K, V]) store(key K, value V) {
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = entry[V]{value: value, expires: time.Now().Add(c.ttl)}
}

// Mark is taken before reading a value to keep with PutSince.
func (c *Cache[K, V]) Mark() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deletions
}

// PutSince keeps value for key unless something was deleted since mark
// was taken. A writer commits its change, then deletes the key; a value
// read before the commit and put after the Delete would otherwise be
// seen for a whole ttl after the change (a revoked seal verified as in
// use, a disabled account's token still taken).
func (c *Cache[K, V]) PutSince(mark uint64, key K, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deletions == mark {
		c.store(key, value)
	}
}

// Delete forgets key.
func (c *Cache[K, V]) Delete(key K) {
	c.mu.Lock()
	delete(c.m, key)
	c.deletions++
	c.mu.Unlock()
}

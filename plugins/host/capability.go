// Package host runs module plugins for the counties that enable them:
// it launches each plugin version as one process shared by those
// counties, routes their requests to it with a capability per request,
// and serves the host services a plugin calls back, scoped to the county
// of that capability alone.
package host

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/countycloud/countycloud/core/audit"
)

// Capability is what a capability token grants: one county, one plugin,
// for one request, until it expires.
type Capability struct {
	County  string `json:"c"`
	Plugin  string `json:"p"`
	Request string `json:"r"`
	Expires int64  `json:"e"`
	// Nonce keeps two requests that share an id (a client may send one)
	// from sharing a token, and so from revoking each other's.
	Nonce uint64 `json:"n"`
	// Caller is who made the request, as the host authenticated them:
	// what a plugin does for the request is recorded against them.
	Caller audit.Actor `json:"a"`
}

// ErrCapability is the error of a token that is forged, garbled or
// expired.
var ErrCapability = errors.New("capability refused")

// Capabilities issues and checks capability tokens, signed with a key of
// this host process: a token is good only for calls back to the process
// that issued it, which is where the plugin it was issued to calls.
type Capabilities struct {
	key    [32]byte
	issued atomic.Uint64
	ttl    time.Duration
	now    func() time.Time
	// live holds the requests being served: a token dies with its
	// request, so a plugin that keeps one cannot use it while serving
	// another county.
	live sync.Map
}

// NewCapabilities returns an issuer whose tokens live for ttl.
func NewCapabilities(ttl time.Duration, now func() time.Time) (*Capabilities, error) {
	c := &Capabilities{ttl: ttl, now: now}
	if _, err := rand.Read(c.key[:]); err != nil {
		return nil, fmt.Errorf("capability key: %w", err)
	}
	return c, nil
}

const capabilityPrefix = "cc1."

// Issue returns a token for caller's request to plugin in county, and the
// func that revokes it when the request is done.
func (c *Capabilities) Issue(county, plugin, request string, caller audit.Actor) (token string, revoke func(), err error) {
	payload, err := json.Marshal(Capability{County: county, Plugin: plugin, Request: request, Expires: c.now().Add(c.ttl).UnixMilli(),
		Nonce: c.issued.Add(1), Caller: caller})
	if err != nil {
		return "", nil, err
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	token = capabilityPrefix + body + "." + base64.RawURLEncoding.EncodeToString(c.sign(body))
	c.live.Store(token, struct{}{})
	return token, func() { c.live.Delete(token) }, nil
}

// Check returns what token grants, or ErrCapability.
func (c *Capabilities) Check(token string) (Capability, error) {
	rest, ok := strings.CutPrefix(token, capabilityPrefix)
	if !ok {
		return Capability{}, fmt.Errorf("%w: not a capability token", ErrCapability)
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return Capability{}, fmt.Errorf("%w: garbled token", ErrCapability)
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, c.sign(body)) {
		return Capability{}, fmt.Errorf("%w: the signature does not match", ErrCapability)
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Capability{}, fmt.Errorf("%w: garbled token", ErrCapability)
	}
	var cap Capability
	if err := json.Unmarshal(payload, &cap); err != nil {
		return Capability{}, fmt.Errorf("%w: garbled token", ErrCapability)
	}
	if c.now().UnixMilli() >= cap.Expires {
		return Capability{}, fmt.Errorf("%w: expired", ErrCapability)
	}
	if _, ok := c.live.Load(token); !ok {
		return Capability{}, fmt.Errorf("%w: its request is over", ErrCapability)
	}
	return cap, nil
}

// CapabilityCallers finds a request's caller in its capability, where
// Process.Handle put it.
type CapabilityCallers struct{}

func (CapabilityCallers) Caller(c Capability) (audit.Actor, bool) {
	return c.Caller, c.Caller.Login != ""
}

func (c *Capabilities) sign(body string) []byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte(body))
	return h.Sum(nil)
}

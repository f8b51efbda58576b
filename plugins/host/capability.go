// Package host runs module plugins for the counties that enable them:
// it launches each plugin version as one process shared by those
// counties, routes their requests to it with a capability per request,
// and serves the host services a plugin calls back, scoped to the county
// of that capability alone.
package host

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/countycloud/countycloud/core/audit"
)

// Capability is what a capability token grants: one county, one plugin,
// for one request, until it expires.
type Capability struct {
	County  string
	Plugin  string
	Request string
	Expires time.Time
	// Caller is who made the request, as the host authenticated them:
	// what a plugin does for the request is recorded against them.
	Caller audit.Actor
	// Address is the caller's network address, as the API saw it: a
	// public route's anonymous caller has nothing else to answer for.
	Address string
	// Roles are the caller's roles in the county, so that the workflow
	// engine authorises a plugin's caller as it would the same person
	// through the platform's API.
	Roles []string
	// SMSReminders says that the county's settings of the module allow
	// its SMS reminders (短信提醒), which cost the county money:
	// "sms_reminders": true.
	SMSReminders bool
	// trail is a public request's entry in the county's trail, for a
	// submission to write with its own (publicTrail).
	trail *publicTrail
}

// ErrCapability is the error of a token that is forged, garbled, expired
// or whose request is over.
var ErrCapability = errors.New("capability refused")

// Capabilities issues and checks capability tokens. A token is 128
// random bits naming what it grants in this host process's memory: it
// cannot be forged or widened, it is good only for calls back to the
// process that issued it (which is where the plugin it was issued to
// calls), and it dies with its request, so a plugin that keeps one
// cannot use it while serving another county.
type Capabilities struct {
	ttl  time.Duration
	now  func() time.Time
	live sync.Map
	// spent are the live tokens whose one public start is used.
	spent sync.Map
}

// NewCapabilities returns an issuer whose tokens live for ttl at most.
func NewCapabilities(ttl time.Duration, now func() time.Time) *Capabilities {
	return &Capabilities{ttl: ttl, now: now}
}

const capabilityPrefix = "cc1."

// Issue returns a token for caller's request to plugin in county, and the
// func that revokes it when the request is done.
func (c *Capabilities) Issue(county, plugin, request string, caller audit.Actor, roles ...string) (token string, revoke func()) {
	return c.IssueFor(Capability{County: county, Plugin: plugin, Request: request, Caller: caller, Roles: roles})
}

// IssueFor returns a token granting grant (whose Expires it sets), and
// the func that revokes it.
func (c *Capabilities) IssueFor(grant Capability) (token string, revoke func()) {
	var id [16]byte
	// crypto/rand never fails on Linux (and panics where it cannot read).
	_, _ = rand.Read(id[:])
	token = capabilityPrefix + base64.RawURLEncoding.EncodeToString(id[:])
	grant.Expires = c.now().Add(c.ttl)
	c.live.Store(token, grant)
	return token, func() { c.live.Delete(token); c.spent.Delete(token) }
}

// SpendStart reports whether token's request has yet to start a workflow
// for a public route's anonymous caller, and marks it as having done so:
// a public request starts one at most, so the public routes' rate per
// address bounds the starts as it bounds the requests.
func (c *Capabilities) SpendStart(token string) bool {
	_, spent := c.spent.LoadOrStore(token, struct{}{})
	return !spent
}

// GiveBackStart undoes SpendStart for token's request, whose start was
// refused within its transaction and rolled back: nothing was started,
// and the request may start its one workflow yet (a submission handed
// in again once the record it was made against is read again).
func (c *Capabilities) GiveBackStart(token string) {
	c.spent.Delete(token)
}

// Check returns what token grants, or ErrCapability.
func (c *Capabilities) Check(token string) (Capability, error) {
	if !strings.HasPrefix(token, capabilityPrefix) {
		return Capability{}, fmt.Errorf("%w: not a capability token", ErrCapability)
	}
	v, ok := c.live.Load(token)
	if !ok {
		return Capability{}, fmt.Errorf("%w: this host issued no such token, or its request is over", ErrCapability)
	}
	granted := v.(Capability)
	if !c.now().Before(granted.Expires) {
		return Capability{}, fmt.Errorf("%w: expired", ErrCapability)
	}
	return granted, nil
}

// CapabilityCallers finds a request's caller in its capability, where
// Process.Handle put it.
type CapabilityCallers struct{}

func (CapabilityCallers) Caller(c Capability) (audit.Actor, bool) {
	return c.Caller, c.Caller.Login != ""
}

package host

import (
	"context"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// Error codes of the plugins' namespace.
const (
	CodePluginIDTaken          = "plugin_id_taken"
	CodeWorkflowNamespaceTaken = "workflow_namespace_taken"
)

// Owners of a name of the plugins' namespace.
const (
	// OwnerPlugin is a plugin id, with its vendor: the plugin's workflows
	// are "<id>.<code>".
	OwnerPlugin = "plugin"
	// OwnerWorkflows is a prefix of the workflow codes operators or
	// counties gave their own workflows.
	OwnerWorkflows = "workflows"
)

// Namespace is who owns a name: a plugin id and its vendor, or the
// operators' and counties' workflows under "<name>.". The first to claim
// a name owns it for good.
type Namespace struct {
	Name   string    `json:"name" db:"name"`
	Owner  string    `json:"owner" db:"owner"`
	Vendor string    `json:"vendor,omitempty" db:"vendor"`
	At     time.Time `json:"claimed_at" db:"claimed_at"`
	By     string    `json:"claimed_by" db:"claimed_by"`
}

// claimID has plugin m's id owned by vendor, or finds it owned by that
// vendor already; another vendor's id, or a prefix of operators' or
// counties' workflows, is refused.
func (s *Service) claimID(ctx context.Context, m sdk.Manifest, vendor, by string) error {
	held, err := s.repo.Claim(ctx, Namespace{Name: m.ID, Owner: OwnerPlugin, Vendor: vendor, At: s.now().UTC(), By: by})
	if err != nil {
		return err
	}
	switch {
	case held.Owner == OwnerWorkflows:
		return errs.Conflict(CodeWorkflowNamespaceTaken, "id %s is taken: operators or counties have workflows named %s.…, which a plugin of that id would take over; the vendor must choose another id", m.ID, m.ID)
	case held.Vendor != vendor:
		return errs.Conflict(CodePluginIDTaken, "id %s belongs to vendor %s since %s; %s %s is from %s, and another vendor's plugin needs another id",
			m.ID, held.Vendor, held.At.Format(time.DateOnly), m.ID, m.Version, vendor)
	}
	return nil
}

// Namespaces keeps the workflow codes of the plugins from operators'
// and counties' workflows (tenants/workflow.Namespaces).
type Namespaces struct {
	repo Repository
	now  func() time.Time
}

// NewNamespaces returns the plugins' namespace in repo's catalog.
func NewNamespaces(repo Repository, now func() time.Time) *Namespaces {
	return &Namespaces{repo: repo, now: now}
}

// ClaimWorkflows keeps the prefix of an operator's or a county's
// workflow code (approval of approval.license) for such workflows,
// unless a plugin owns it: the code would then be among the plugin's,
// which the plugin may replace and act on. A code without a dot has no
// prefix and is anyone's.
func (n *Namespaces) ClaimWorkflows(ctx context.Context, code, by string) error {
	prefix, _, ok := strings.Cut(code, ".")
	if !ok {
		return nil
	}
	held, err := n.repo.Claim(ctx, Namespace{Name: prefix, Owner: OwnerWorkflows, At: n.now().UTC(), By: by})
	if err != nil {
		return err
	}
	if held.Owner == OwnerPlugin {
		return errs.Conflict(CodeWorkflowNamespaceTaken, "workflow codes %s.… are plugin %s's (vendor %s): name the workflow otherwise", prefix, prefix, held.Vendor)
	}
	return nil
}

// PluginWorkflow reports whether a plugin owns the prefix of workflow
// code: the workflow is that plugin's, whose mandatory steps the engine
// leaves to the module (tenants/workflow.Namespaces).
func (n *Namespaces) PluginWorkflow(ctx context.Context, code string) (bool, error) {
	prefix, _, ok := strings.Cut(code, ".")
	if !ok {
		return false, nil
	}
	held, err := n.repo.Namespace(ctx, prefix)
	if errs.CodeOf(err) == CodePluginNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return held.Owner == OwnerPlugin, nil
}

// vendorOf is the vendor a registration names: the operator's word if
// given, which the binary's manifest must then agree with, else the
// manifest's.
func vendorOf(m sdk.Manifest, named string) (string, error) {
	named = strings.TrimSpace(named)
	if named == "" {
		return m.Vendor, nil
	}
	if named != m.Vendor {
		return "", errs.Invalid(CodeInvalidPlugin, "%s %s says its vendor is %q, not %q as registered", m.ID, m.Version, m.Vendor, named)
	}
	return named, nil
}

// checkVersion refuses a version with build metadata: semantic versioning
// orders 1.0.0+evil as 1.0.0, so it could stand for a vendor's 1.0.0
// without being it.
func checkVersion(m sdk.Manifest) error {
	if semver.Build("v"+m.Version) != "" {
		return errs.Invalid(CodeInvalidPlugin, "%s %s: a version with build metadata (+…) is not registered; give the build its own version", m.ID, m.Version)
	}
	return nil
}

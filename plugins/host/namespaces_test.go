package host_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

func TestAnIDBelongsToTheVendorOfItsFirstRegistration(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	dir := t.TempDir()
	deps := host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Router: provisiontest.Router(db, registry.LocatorInterval), Log: quiet, Now: time.Now}
	repo := host.NewMySQLRepository(db.Control)
	svc := host.NewService(repo, anyCounty{}, deps, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	ctx := context.Background()
	const owner, other = "韶关数科", "Evil Corp"
	files := map[string]string{owner: "owner", other: "other"}
	register := func(version, vendor, named string) error {
		t.Helper()
		file, sum := pluginScript(t, dir, strings.ReplaceAll(version, "+", "_")+"-"+files[vendor], pluginIDEnv+"=suggestions", pluginVersionEnv+"="+version, pluginVendorEnv+"='"+vendor+"'")
		_, err := svc.Register(ctx, "operator", host.RegisterInput{File: file, SHA256: sum, Vendor: named})
		return err
	}
	for _, v := range []string{"1.0.0", "1.9.0", "1.10.0"} {
		if err := register(v, owner, owner); err != nil {
			t.Fatalf("the owner's %s: %v", v, err)
		}
	}
	if err := register("1.0.2", other, ""); errs.CodeOf(err) != host.CodePluginIDTaken || errs.As(err).Kind != errs.KindConflict {
		t.Errorf("another vendor's binary as suggestions 1.0.2: %v, want %s", err, host.CodePluginIDTaken)
	}
	if err := register("2.0.0", other, other); errs.CodeOf(err) != host.CodePluginIDTaken {
		t.Errorf("another vendor's binary named as its own vendor's: %v, want %s", err, host.CodePluginIDTaken)
	}
	if err := register("2.0.1", other, owner); errs.CodeOf(err) != host.CodeInvalidPlugin {
		t.Errorf("a binary whose manifest names another vendor than the operator: %v, want %s", err, host.CodeInvalidPlugin)
	}
	for _, vendor := range []string{other, owner} {
		if err := register("1.0.0+evil", vendor, ""); errs.CodeOf(err) != host.CodeInvalidPlugin || errs.As(err).Kind != errs.KindInvalid || !strings.Contains(err.Error(), "build metadata") {
			t.Errorf("%s's 1.0.0+evil: %v, want invalid", vendor, err)
		}
	}
	// Both counties enabling without a version get the owner's newest, in
	// semantic-version order (1.10.0 after 1.9.0), never another vendor's.
	for _, county := range []string{wengyuan, lechang} {
		if m, err := svc.Enable(ctx, county, "suggestions", "admin", host.EnableInput{}); err != nil || m.Version != "1.10.0" {
			t.Errorf("%s enables suggestions without a version: %+v %v, want 1.10.0", county, m, err)
		}
	}
	for _, v := range []string{"1.0.2", "2.0.0", "1.0.0+evil"} {
		if _, err := svc.Enable(ctx, lechang, "suggestions", "admin", host.EnableInput{Version: v}); errs.CodeOf(err) != host.CodePluginNotFound {
			t.Errorf("enable the refused %s: %v", v, err)
		}
	}
	// A version entered before ids were bound, from another vendor, is
	// never chosen, and refused when named.
	manifest := notesManifest
	manifest.ID, manifest.Version, manifest.Vendor = "suggestions", "3.0.0", other
	if err := repo.Add(ctx, host.Entry{ID: "suggestions", Version: "3.0.0", SHA256: strings.Repeat("0", 64), File: "old", Manifest: manifest, At: time.Now(), By: "operator"}); err != nil {
		t.Fatal(err)
	}
	if m, err := svc.Enable(ctx, wengyuan, "suggestions", "admin", host.EnableInput{}); err != nil || m.Version != "1.10.0" {
		t.Errorf("enable with another vendor's 3.0.0 in the catalog: %+v %v, want 1.10.0", m, err)
	}
	if _, err := svc.Enable(ctx, lechang, "suggestions", "admin", host.EnableInput{Version: "3.0.0"}); errs.CodeOf(err) != host.CodePluginIDTaken {
		t.Errorf("enable another vendor's 3.0.0 by name: %v, want %s", err, host.CodePluginIDTaken)
	}
}

func TestAPluginIDAndOperatorsWorkflowsUnderItRefuseWhicheverComesSecond(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	dir := t.TempDir()
	repo := host.NewMySQLRepository(db.Control)
	svc := host.NewService(repo, anyCounty{}, host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Log: quiet, Now: time.Now}, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	names := host.NewNamespaces(repo, time.Now)
	ctx := context.Background()
	register := func(id string) error {
		file, sum := pluginScript(t, dir, "1.0.0-"+id, pluginIDEnv+"="+id)
		_, err := svc.Register(ctx, "operator", host.RegisterInput{File: file, SHA256: sum})
		return err
	}
	// The operator's workflow first: the plugin is refused.
	if err := names.ClaimWorkflows(ctx, "approval.license", "operator@"+wengyuan); err != nil {
		t.Fatal(err)
	}
	if err := register("approval"); errs.CodeOf(err) != host.CodeWorkflowNamespaceTaken || errs.As(err).Kind != errs.KindConflict {
		t.Errorf("register approval after the operator's approval.license: %v, want %s", err, host.CodeWorkflowNamespaceTaken)
	}
	if err := names.ClaimWorkflows(ctx, "approval.permit", "lcadmin@"+lechang); err != nil {
		t.Errorf("another county's workflow under the counties' prefix: %v", err)
	}
	// The plugin first: the operator's workflow, and any county's, is
	// refused.
	if err := register("licensing"); err != nil {
		t.Fatal(err)
	}
	for _, by := range []string{"operator@" + wengyuan, "lcadmin@" + lechang} {
		if err := names.ClaimWorkflows(ctx, "licensing.license", by); errs.CodeOf(err) != host.CodeWorkflowNamespaceTaken {
			t.Errorf("%s's workflow licensing.license after plugin licensing: %v, want %s", by, err, host.CodeWorkflowNamespaceTaken)
		}
	}
	// A code without a prefix is anyone's; one named like a plugin but
	// not under it is not the plugin's.
	for _, code := range []string{"licensing", "licensing_old.x"} {
		if err := names.ClaimWorkflows(ctx, code, "operator@"+wengyuan); err != nil {
			t.Errorf("workflow %s: %v", code, err)
		}
	}
	// The engine asks whose a workflow is: the plugin's own only.
	for code, want := range map[string]bool{"licensing.license": true, "approval.license": false, "licensing_old.x": false, "licensing": false, "nobody.x": false} {
		if got, err := names.PluginWorkflow(ctx, code); err != nil || got != want {
			t.Errorf("is %s a plugin's workflow: %v %v, want %v", code, got, err, want)
		}
	}
}

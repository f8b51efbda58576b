package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/plugins/approval"
	"github.com/countycloud/countycloud/plugins/convenience"
	"github.com/countycloud/countycloud/plugins/disclosure"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/oa"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/vod"
)

// builtin is a module this binary serves as a plugin.
type builtin struct {
	serve    func()
	manifest func() sdk.Manifest
}

// builtins are the modules this binary serves as plugins, by id.
func builtins() map[string]builtin {
	return map[string]builtin{
		"approval":    {serve: approval.Serve, manifest: approval.Manifest},
		"convenience": {serve: convenience.Serve, manifest: convenience.Manifest},
		"disclosure":  {serve: disclosure.Serve, manifest: disclosure.Manifest},
		"oa":          {serve: oa.Serve, manifest: oa.Manifest},
		"vod":         {serve: vod.Serve, manifest: vod.Manifest},
	}
}

// builtinModules is how the host launches each built-in module: this very
// binary, through the hidden 'module serve' command, so that built-ins
// speak the same protocol as a vendor's plugins.
func builtinModules() (map[string]host.Binary, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary for the built-in modules: %w", err)
	}
	sum, err := host.FileSHA256(self)
	if err != nil {
		return nil, err
	}
	out := map[string]host.Binary{}
	for id, b := range builtins() {
		out[id] = host.Binary{Path: self, SHA256: sum, Args: []string{"module", "serve", id}, Manifest: b.manifest(), Builtin: true}
	}
	return out, nil
}

// newModuleCmd is the hidden command the host runs a built-in module
// with; it speaks go-plugin's handshake on stdout and is no use by hand.
func newModuleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "module", Short: "Serve a built-in module as a plugin (the platform runs this)", Hidden: true}
	cmd.AddCommand(&cobra.Command{
		Use:   "serve ID",
		Short: "Serve built-in module ID over go-plugin's protocol on stdin and stdout",
		Args:  exactArgs(1, "the module's id"),
		RunE: func(_ *cobra.Command, args []string) error {
			b, ok := builtins()[args[0]]
			if !ok {
				return usageError("this build has no built-in module %q", args[0])
			}
			// The packages this binary holds start up in every process of
			// it; in a dev build the embedded database's leave some 20 MiB
			// of garbage behind, which a module process would otherwise
			// keep for its whole life.
			debug.FreeOSMemory()
			b.serve()
			return nil
		},
	})
	return cmd
}

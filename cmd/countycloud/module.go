package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/vod"
)

// builtinServers are the modules this binary serves as plugins, by id.
func builtinServers() map[string]func() {
	return map[string]func(){"vod": vod.Serve}
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
	for id := range builtinServers() {
		out[id] = host.Binary{Path: self, SHA256: sum, Args: []string{"module", "serve", id}}
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
			serve, ok := builtinServers()[args[0]]
			if !ok {
				return usageError("this build has no built-in module %q", args[0])
			}
			serve()
			return nil
		},
	})
	return cmd
}

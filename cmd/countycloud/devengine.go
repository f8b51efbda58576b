//go:build !nodev

package main

import "github.com/countycloud/countycloud/core/store/devengine"

// startDevEngine starts the embedded engine of -dev. Builds for production
// leave it out with -tags nodev: the engine's regex library compiles a
// WebAssembly module at process start, which costs every CLI call ~0.3 s.
func startDevEngine() (devDatabase, error) {
	return devengine.Start()
}

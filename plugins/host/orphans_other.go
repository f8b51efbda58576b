//go:build !linux

package host

import "os/exec"

// dieWithHost does nothing where the kernel cannot tie a child's life to
// its parent's; there go-plugin's own clean-up is all there is.
func dieWithHost(*exec.Cmd) {}

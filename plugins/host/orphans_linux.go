package host

import (
	"os/exec"
	"syscall"
)

// dieWithHost has the kernel kill a plugin process when the host dies,
// however it dies (go-plugin stops its plugins only on a clean exit), so
// that a killed host leaves no orphans. It leads a session of its own:
// where the kernel groups the CPU's share by session (autogroups), its
// session's share is lowered with its priority (lowerPriority), so a
// plugin spinning the CPU takes little of what the host and the database
// need.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setsid: true}
}

package host

import (
	"os/exec"
	"syscall"
)

// dieWithHost has the kernel kill a plugin process when the host dies,
// however it dies (go-plugin stops its plugins only on a clean exit), so
// that a killed host leaves no orphans.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

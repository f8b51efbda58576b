package host

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// pluginNice is the nice value of plugin processes: a plugin flooding the
// CPU yields it to the host serving other counties.
const pluginNice = 10

// lowerPriority sets process pid to pluginNice. Linux keeps a nice value
// per thread, and a thread starts with its creator's: every thread is
// set, twice for one started while the first pass ran, and threads the
// process starts later inherit it. Where the process leads a session of
// its own (the sandbox's setsid), the kernel's autogroups share the CPU
// between sessions before nice values count, so its session's is set
// too.
func lowerPriority(pid int) error {
	proc := "/proc/" + strconv.Itoa(pid)
	var failed []error
	for range 2 {
		tasks, err := os.ReadDir(proc + "/task")
		if err != nil {
			return err
		}
		failed = failed[:0]
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, pluginNice); err != nil && !errors.Is(err, syscall.ESRCH) {
				failed = append(failed, err)
			}
		}
	}
	if err := lowerAutogroup(proc); err != nil {
		failed = append(failed, err)
	}
	return errors.Join(failed...)
}

// lowerAutogroup sets the nice value of the autogroup of the process at
// proc, unless the kernel shows it none or it is the host's own (which it
// must never lower). A host in the kernel's first session, as in many
// containers, shows none of its own; its plugins' are still theirs.
func lowerAutogroup(proc string) error {
	theirs, err := os.ReadFile(proc + "/autogroup")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ours, err := os.ReadFile("/proc/self/autogroup")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// "/autogroup-123 nice 0": the group is the first field.
	group := func(b []byte) string {
		if f := bytes.Fields(b); len(f) > 0 {
			return string(f[0])
		}
		return ""
	}
	if group(theirs) == "" || group(theirs) == group(ours) {
		return nil
	}
	return os.WriteFile(proc+"/autogroup", []byte(strconv.Itoa(pluginNice)), 0)
}

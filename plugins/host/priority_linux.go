package host

import (
	"errors"
	"os"
	"strconv"
	"syscall"
)

// pluginNice is the nice value of plugin processes: a plugin flooding the
// CPU yields it to the host serving other counties.
const pluginNice = 10

// lowerPriority sets every thread of process pid to pluginNice. Linux
// keeps a nice value per thread, and a thread starts with its creator's:
// threads the process starts after this inherit it. Twice, for a thread
// started while the first pass ran.
func lowerPriority(pid int) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	var failed []error
	for range 2 {
		tasks, err := os.ReadDir(dir)
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
	return errors.Join(failed...)
}

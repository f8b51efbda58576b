package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// KeepSecrets makes this process non-dumpable: /proc/<pid>/environ, mem,
// fd and maps become root's and ptrace is refused, so that no process of
// the host's own user (a plugin run unconfined among them) reads the
// environment, memory or descriptors that hold the database's password,
// the file-signing key and the files of every county. The server calls it
// before it reads any secret.
func KeepSecrets() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the host non-dumpable: %w", err)
	}
	return nil
}

// secretsKept says whether KeepSecrets has been called.
func secretsKept() bool {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return err == nil && v == 0
}

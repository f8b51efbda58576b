// Package sandbox confines the processes of plugins: the host starts each
// one through a launcher (the host's own binary, re-executed with a hidden
// first argument) that takes away what a plugin has no use for and then
// executes the plugin, so that a vendor's binary needs no change.
//
// What a process gets depends on the kernel; Protections says which of
// them this host has. The host itself keeps its secrets from processes of
// its own user with KeepSecrets.
package sandbox

import (
	"errors"
	"fmt"
	"strings"
)

// Options are the operator's choices.
type Options struct {
	// Off runs plugins unconfined, as the host's user.
	Off bool
	// UID and GID are the account plugins run as when the host runs as
	// root; nobody (65534) if zero.
	UID, GID int
	// MemoryMiB bounds each plugin's data segment (RLIMIT_DATA), OpenFiles
	// its descriptors and Processes the processes and threads of the user
	// it runs as; zero leaves that limit as the host's.
	MemoryMiB, OpenFiles, Processes int
	// Lenient lets vendors' plugins start without the essential
	// protections (dev mode, which warns instead).
	Lenient bool
}

// Nobody is the account plugins run as when the host runs as root.
const Nobody = 65534

// Protections are what this kernel and this host give a plugin process.
type Protections struct {
	// NoNewPrivs: no plugin gains privileges by executing anything.
	NoNewPrivs bool
	// Seccomp: no network sockets, ptrace, reading other processes'
	// memory, signals to other processes, namespaces or io_uring.
	Seccomp bool
	// Landlock is the Landlock ABI the kernel offers (0 without Landlock):
	// from 1 the file system, from 4 TCP, from 6 signals and abstract unix
	// sockets are confined.
	Landlock int
	// Namespaces: each plugin has its own PID, mount, network and IPC
	// namespaces, without the host's /tmp and /run.
	Namespaces bool
	// UID is the user a plugin runs as, -1 when it is the host's.
	UID int
	// Limits: memory, descriptors, processes and core files are bounded.
	Limits bool
	// Secrets: the host is not dumpable, so no process of its user reads
	// its environment, memory or descriptors.
	Secrets bool
}

// ErrUnconfined is the error of a vendor's plugin that would run with
// less than the essential protections.
var ErrUnconfined = errors.New("the plugin sandbox lacks essential protections on this host")

// Essential says whether p is enough to run a vendor's plugin: the host's
// secrets kept, no new privileges, and the seccomp filter.
func (p Protections) Essential() error {
	var missing []string
	if !p.Secrets {
		missing = append(missing, "the host's secrets (PR_SET_DUMPABLE)")
	}
	if !p.NoNewPrivs {
		missing = append(missing, "no_new_privs")
	}
	if !p.Seccomp {
		missing = append(missing, "seccomp")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: no %s; pass --plugin-sandbox=off to run vendors' plugins unconfined", ErrUnconfined, strings.Join(missing, ", "))
	}
	return nil
}

// LogAttrs are p as attributes of the server's start-up log entry.
func (p Protections) LogAttrs() []any {
	return []any{"no_new_privs", p.NoNewPrivs, "seccomp", p.Seccomp, "landlock_abi", p.Landlock,
		"namespaces", p.Namespaces, "plugin_uid", p.UID, "limits", p.Limits, "host_undumpable", p.Secrets}
}

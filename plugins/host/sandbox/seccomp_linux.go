package sandbox

import (
	"fmt"
	"os"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// denied are the system calls no plugin makes: debugging or reading
// other processes, loading code into the kernel, namespaces and mounts,
// keyrings, and io_uring (whose operations seccomp does not see).
var denied = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	"perf_event_open", "bpf", "userfaultfd", "keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"open_by_handle_at", "name_to_handle_at",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "iopl", "ioperm",
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
}

// policy is the filter of a plugin process whose process ID is pid.
// Without a PID namespace of its own (alone) a plugin may neither signal
// another process nor start one, since nothing would stop what it starts
// from outliving it.
func policy(pid int, alone bool) (seccomp.Policy, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return seccomp.Policy{}, err
	}
	var names []string
	for _, n := range denied {
		if _, ok := info.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	ne := func(arg uint32, v uint64) seccomp.Condition {
		return seccomp.Condition{Argument: arg, Operation: seccomp.NotEqual, Value: v}
	}
	withArgs := []seccomp.NameWithConditions{
		// Unix sockets are go-plugin's transport; nothing else.
		{Name: "socket", Conditions: seccomp.ArgumentConditions{ne(0, unix.AF_UNIX)}},
		// A user namespace would give back the privileges dropped.
		{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: unix.CLONE_NEWUSER}}},
	}
	if alone {
		self := uint64(pid)
		withArgs = append(withArgs,
			seccomp.NameWithConditions{Name: "kill", Conditions: seccomp.ArgumentConditions{ne(0, self), ne(0, 0)}},
			seccomp.NameWithConditions{Name: "tgkill", Conditions: seccomp.ArgumentConditions{ne(0, self)}},
			seccomp.NameWithConditions{Name: "rt_sigqueueinfo", Conditions: seccomp.ArgumentConditions{ne(0, self)}},
			seccomp.NameWithConditions{Name: "rt_tgsigqueueinfo", Conditions: seccomp.ArgumentConditions{ne(0, self)}},
			// Threads only: a clone without CLONE_THREAD is a process.
			seccomp.NameWithConditions{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsNotSet, Value: unix.CLONE_THREAD}}},
		)
		for _, n := range []string{"tkill", "pidfd_open", "pidfd_send_signal", "fork", "vfork", "setsid", "setpgid"} {
			if _, ok := info.SyscallNames[n]; ok {
				names = append(names, n)
			}
		}
	}
	groups := []seccomp.SyscallGroup{
		{Names: names, NamesWithCondtions: withArgs, Action: seccomp.ActionErrno},
		// clone3's flags are out of the filter's reach: ENOSYS has the C
		// library and Go fall back to clone, whose flags are not.
		{Names: []string{"clone3"}, Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)},
	}
	return seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: groups}, nil
}

// loadSeccomp installs the filter on this thread. Calls of another
// architecture (the 32-bit ABI an amd64 process can reach through int
// 0x80) kill the process: go-seccomp-bpf lets them through.
func loadSeccomp(alone bool) error {
	p, err := policy(os.Getpid(), alone)
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	insts, err := p.Assemble()
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	info, err := arch.GetInfo("")
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	prefix := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)},
	}
	raw, err := bpf.Assemble(append(prefix, insts...))
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}

package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// launchArg, as the first argument of the host's binary, makes it the
// launcher instead of whatever the binary is (the server, a test).
const launchArg = "plugin-sandbox-launch"

// binaryFD is the descriptor the launcher finds the plugin's binary on.
const binaryFD = 3

// spec is what the host tells the launcher.
type spec struct {
	// Probe has the launcher confine itself, report what it got on
	// stdout and exit, instead of executing a plugin.
	Probe bool
	// Dir is the plugin's one writable directory.
	Dir string
	// UID and GID are the account to run the plugin as, -1 to keep.
	UID, GID int
	// Namespaces: the launcher was started in new PID, mount, network,
	// IPC and UTS namespaces; UserNS: in a new user namespace too.
	Namespaces, UserNS bool
	// HostPID is the host's process, which the launcher must not outlive.
	HostPID int
	// Limits; zero keeps the host's.
	MemoryBytes, OpenFiles, Processes uint64
}

// The launcher runs before anything else of the binary it is part of:
// main or a test's TestMain never see its arguments.
func init() {
	if len(os.Args) < 4 || os.Args[1] != launchArg || os.Args[3] != "--" {
		return
	}
	// Everything the launcher sets up it sets on this thread, the one
	// that executes the plugin.
	runtime.LockOSThread()
	var s spec
	if err := json.Unmarshal([]byte(os.Args[2]), &s); err != nil {
		fail(err)
	}
	got, err := confine(s)
	if err != nil {
		fail(err)
	}
	if s.Probe {
		if err := json.NewEncoder(os.Stdout).Encode(got); err != nil {
			fail(err)
		}
		os.Exit(0)
	}
	// The plugin inherits its standard streams and nothing else; the
	// binary's own descriptor closes as it is executed.
	if err := unix.CloseRange(binaryFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fail(fmt.Errorf("close descriptors: %w", err))
	}
	fail(syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", binaryFD), os.Args[4:], os.Environ()))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "plugin sandbox:", err)
	os.Exit(125)
}

// confine applies s to this thread, in the order each step needs: mounts
// while privileged, then limits, then the account, then what no_new_privs
// allows an unprivileged process (Landlock, seccomp).
func confine(s spec) (Protections, error) {
	got := Protections{UID: -1}
	if s.Namespaces {
		if err := privateMounts(s.Dir); err != nil {
			return got, err
		}
		got.Namespaces = true
	}
	if err := limits(s); err != nil {
		return got, err
	}
	got.Limits = s.MemoryBytes > 0 || s.OpenFiles > 0 || s.Processes > 0
	if s.UID >= 0 || s.UserNS {
		dropBoundingSet()
	}
	if s.UID >= 0 {
		if err := unix.Setgroups(nil); err != nil {
			return got, fmt.Errorf("setgroups: %w", err)
		}
		// The raw calls change this thread only, the one that executes
		// the plugin; Go's own would stop the world to change every
		// thread of a process that is about to be replaced.
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(s.GID), uintptr(s.GID), uintptr(s.GID)); e != 0 {
			return got, fmt.Errorf("setresgid: %w", e)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(s.UID), uintptr(s.UID), uintptr(s.UID)); e != 0 {
			return got, fmt.Errorf("setresuid: %w", e)
		}
		got.UID = s.UID
	}
	// A change of account clears the parent-death signal the host asked
	// for; set it again, then make sure the host did not die meanwhile (in
	// a PID namespace the host is out of sight, and the namespace dies
	// with its first process).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return got, fmt.Errorf("parent-death signal: %w", err)
	}
	if !s.Namespaces && os.Getppid() != s.HostPID {
		return got, fmt.Errorf("the host is gone")
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return got, fmt.Errorf("no_new_privs: %w", err)
	}
	got.NoNewPrivs = true
	abi, err := restrictFiles(s.Dir, !s.Probe)
	if err != nil {
		return got, err
	}
	got.Landlock = abi
	if err := loadSeccomp(!s.Namespaces); err != nil {
		return got, err
	}
	got.Seccomp = true
	return got, nil
}

// privateMounts hides the host's temporary and runtime directories (the
// database's unix socket among them) behind empty file systems of the
// plugin's own, and puts dir back at its path.
func privateMounts(dir string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the plugin's directory: %w", err)
	}
	defer unix.Close(fd)
	for _, d := range []string{"/tmp", "/var/tmp", "/run", "/dev/shm"} {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k,mode=0755"); err != nil {
			return fmt.Errorf("hide %s: %w", d, err)
		}
	}
	// The host's processes stay out of sight of the plugin's /proc where
	// the kernel allows a new one.
	_ = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make the plugin's directory: %w", err)
	}
	if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", fd), dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount the plugin's directory: %w", err)
	}
	return nil
}

func limits(s spec) error {
	set := func(resource int, n uint64) error {
		if n == 0 {
			return nil
		}
		if err := unix.Setrlimit(resource, &unix.Rlimit{Cur: n, Max: n}); err != nil {
			return fmt.Errorf("limit %d to %d: %w", resource, n, err)
		}
		return nil
	}
	return firstError(
		set(unix.RLIMIT_DATA, s.MemoryBytes),
		set(unix.RLIMIT_NOFILE, s.OpenFiles),
		set(unix.RLIMIT_NPROC, s.Processes),
		// No core file can carry what a plugin held in memory.
		unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}),
	)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// dropBoundingSet leaves nothing for the plugin to regain capabilities
// from: without it, root in a user namespace would have them back as it
// executes the plugin.
func dropBoundingSet() {
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err == unix.EINVAL {
			return
		}
	}
}

// restrictFiles confines this thread with Landlock as far as the kernel
// allows, and returns the ABI it has (0: none). The plugin reads its own
// binary, the shared libraries and time zones, its own /proc entry, and
// writes only dir and /dev/null; it binds and connects no TCP port, and
// signals and abstract unix sockets stay within its domain.
func restrictFiles(dir string, binary bool) (int, error) {
	abi, err := ll.LandlockGetABIVersion()
	if err != nil || abi < 1 {
		return 0, nil
	}
	rules := []landlock.Rule{
		landlock.RODirs("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo", "/proc/self").IgnoreIfMissing(),
		landlock.ROFiles("/etc/localtime", "/etc/ld.so.cache", "/dev/urandom", "/dev/random", "/dev/zero").IgnoreIfMissing(),
		landlock.RWFiles("/dev/null"),
		landlock.RWDirs(dir).WithResolveUnix(),
	}
	if binary {
		rules = append(rules, landlock.ROFiles(fmt.Sprintf("/proc/self/fd/%d", binaryFD)))
	}
	fd, flags, err := landlock.V11.BestEffort().NewRulesetFD(rules...)
	if err != nil {
		return 0, fmt.Errorf("landlock: %w", err)
	}
	if fd < 0 {
		return 0, nil
	}
	defer unix.Close(fd)
	if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
		return 0, fmt.Errorf("landlock: %w", err)
	}
	return abi, nil
}

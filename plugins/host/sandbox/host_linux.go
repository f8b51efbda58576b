package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sandbox starts plugin processes confined.
type Sandbox struct {
	opts Options
	prot Protections
	// uid and gid are the plugin's account, -1 when it is the host's.
	uid, gid int
	// namespaces says the kernel lets this host give each plugin its own
	// namespaces, and userns that it needs a user namespace for them (a
	// host that is not root).
	namespaces, userns bool
	// dumpable serialises the starts that make the host dumpable for a
	// moment (see Start).
	dumpable sync.Mutex
}

// New probes what this kernel offers, by confining a launcher that exits
// at once, and returns the sandbox that gives every plugin all of it.
func New(opts Options) (*Sandbox, error) {
	s := &Sandbox{opts: opts, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		s.uid, s.gid = Nobody, Nobody
		if opts.UID != 0 {
			s.uid, s.gid = opts.UID, opts.GID
		}
	} else {
		s.userns = true
	}
	s.namespaces = true
	prot, err := s.probe()
	if err != nil {
		// A kernel (or a container) that refuses new namespaces still
		// gets every other protection.
		s.namespaces, s.userns = false, false
		if prot, err = s.probe(); err != nil {
			return nil, err
		}
	}
	prot.Secrets = secretsKept()
	s.prot = prot
	return s, nil
}

// Protections are what each plugin process gets on this host.
func (s *Sandbox) Protections() Protections { return s.prot }

// Refuse says why a vendor's plugin may not start, nil if it may.
func (s *Sandbox) Refuse() error {
	if s.opts.Lenient {
		return nil
	}
	return s.prot.Essential()
}

// SocketGroup is the group the host's unix sockets for a plugin must be
// writable by, "" when the plugin runs as the host's user.
func (s *Sandbox) SocketGroup() string {
	if s.gid < 0 {
		return ""
	}
	return fmt.Sprint(s.gid)
}

// probe runs the launcher confined as a plugin would be, and returns what
// it reports it got.
func (s *Sandbox) probe() (Protections, error) {
	dir, err := os.MkdirTemp("", "countycloud-sandbox-probe-")
	if err != nil {
		return Protections{}, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(os.Args[0])
	if err := s.confine(cmd, nil, dir, true); err != nil {
		return Protections{}, err
	}
	var out, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = s.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return Protections{}, fmt.Errorf("probe the plugin sandbox: %w: %s", err, stderr.b)
	}
	var got Protections
	if err := json.Unmarshal(out.b, &got); err != nil {
		return Protections{}, fmt.Errorf("probe the plugin sandbox: %w", err)
	}
	return got, nil
}

// Confine rewrites cmd, which would run the plugin binary open as
// binary, to run it through the launcher: confined, with dir (go-plugin's
// directory for the plugin's sockets) its only writable directory and its
// TMPDIR. The launcher executes the very file binary is open on, so what
// the host checked is what runs, and the plugin needs no access to its
// path.
func (s *Sandbox) Confine(cmd *exec.Cmd, binary *os.File, dir string) error {
	if binary == nil {
		return errors.New("sandbox: no plugin binary")
	}
	return s.confine(cmd, binary, dir, false)
}

func (s *Sandbox) confine(cmd *exec.Cmd, binary *os.File, dir string, probe bool) error {
	if s.uid >= 0 {
		if err := os.Chown(dir, s.uid, s.gid); err != nil {
			return fmt.Errorf("sandbox: give the plugin its directory: %w", err)
		}
	}
	sp := spec{Probe: probe, Dir: dir, UID: s.uid, GID: s.gid, Namespaces: s.namespaces, UserNS: s.userns, HostPID: os.Getpid(),
		MemoryBytes: uint64(s.opts.MemoryMiB) << 20, OpenFiles: uint64(s.opts.OpenFiles), Processes: uint64(s.opts.Processes)}
	raw, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	cmd.Args = append([]string{cmd.Args[0], launchArg, string(raw), "--"}, cmd.Args...)
	cmd.Path = "/proc/self/exe"
	cmd.Err = nil
	if binary != nil {
		cmd.ExtraFiles = []*os.File{binary}
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+dir)
	attr := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if s.namespaces {
		attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	}
	if s.userns {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	return nil
}

// Start starts cmd, confined. A host that is not root writes the user
// namespace's ID maps of the launcher, which the kernel lets it do only
// while the launcher, still a copy of the host until it executes, is
// dumpable: the host is dumpable for the moment it forks, and non-dumpable
// again before the launcher has executed anything.
func (s *Sandbox) Start(cmd *exec.Cmd) error {
	if !s.userns || !secretsKept() {
		return cmd.Start()
	}
	s.dumpable.Lock()
	defer s.dumpable.Unlock()
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return err
	}
	err := cmd.Start()
	if err := KeepSecrets(); err != nil {
		panic(err)
	}
	return err
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p[:min(len(p), max(0, 64<<10-len(l.b)))]...)
	return len(p), nil
}

package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/hashicorp/go-plugin/runner"
)

// cmdRunner runs a plugin's command as go-plugin's own runner does (which
// is internal to go-plugin): the host needs a runner of its own to confine
// the command once go-plugin has made the plugin's socket directory.
type cmdRunner struct {
	cmd            *exec.Cmd
	name           string
	start          func(*exec.Cmd) error
	stdout, stderr io.ReadCloser
}

var _ runner.Runner = (*cmdRunner)(nil)

func newCmdRunner(cmd *exec.Cmd, name string, start func(*exec.Cmd) error) (*cmdRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &cmdRunner{cmd: cmd, name: name, start: start, stdout: stdout, stderr: stderr}, nil
}

func (r *cmdRunner) Start(context.Context) error     { return r.start(r.cmd) }
func (r *cmdRunner) Wait(context.Context) error      { return r.cmd.Wait() }
func (r *cmdRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *cmdRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *cmdRunner) Name() string                    { return r.name }
func (r *cmdRunner) Diagnose(context.Context) string { return "" }

func (r *cmdRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *cmdRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return fmt.Sprint(r.cmd.Process.Pid)
}

func (r *cmdRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *cmdRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

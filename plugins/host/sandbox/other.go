//go:build !linux

package sandbox

import (
	"errors"
	"os"
	"os/exec"
)

// Sandbox is not available off Linux.
type Sandbox struct{}

// KeepSecrets does nothing off Linux.
func KeepSecrets() error { return nil }

// New fails off Linux: there is no sandbox to start plugins in.
func New(Options) (*Sandbox, error) {
	return nil, errors.New("the plugin sandbox needs Linux")
}

// Protections are none.
func (*Sandbox) Protections() Protections { return Protections{UID: -1} }

// Refuse refuses every vendor's plugin.
func (*Sandbox) Refuse() error { return ErrUnconfined }

// SocketGroup is none.
func (*Sandbox) SocketGroup() string { return "" }

// Start fails.
func (*Sandbox) Start(*exec.Cmd) error { return ErrUnconfined }

// Confine fails.
func (*Sandbox) Confine(*exec.Cmd, *os.File, string) error { return ErrUnconfined }

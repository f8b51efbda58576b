// Package devengine runs the embedded MySQL-compatible engine of dev mode
// (dolthub/go-mysql-server, in memory) on loopback, so that dev mode
// reaches its database through go-sql-driver/mysql exactly as production
// does. Nothing it holds survives the process.
package devengine

import (
	"fmt"
	"net"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gms "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
)

// Engine is a running embedded engine.
type Engine struct {
	srv     *server.Server
	addr    string
	stopped chan error
}

// Start listens on a free loopback port and serves an empty in-memory
// engine there. Its only user is root without a password: it is reachable
// from this machine only and holds nothing worth protecting.
func Start() (*Engine, error) {
	// The engine logs every connection through logrus's global logger;
	// only its errors are worth a developer's attention.
	logrus.SetLevel(logrus.ErrorLevel)
	provider := memory.NewDBProviderWithOpts(memory.NativeIndexProvider(true)).(*memory.DbProvider)
	engine := sqle.NewDefault(provider)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dev engine: %w", err)
	}
	addr := ln.Addr().String()
	srv, err := server.NewServerWithHandler(server.Config{Protocol: "tcp", Address: addr, Listener: ln}, engine, gms.NewContext, memory.NewSessionBuilder(provider), nil,
		func(h vmysql.Handler) (vmysql.Handler, error) { return newSerialHandler(h), nil })
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("dev engine: %w", err)
	}
	e := &Engine{srv: srv, addr: addr, stopped: make(chan error, 1)}
	go func() { e.stopped <- srv.Start() }()
	return e, nil
}

// Config is a DSN config reaching the engine, with database as the schema.
func (e *Engine) Config(database string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = e.addr
	cfg.DBName = database
	return cfg
}

// Close stops the engine; everything in it is gone. It returns the error
// that stopped the engine, if anything did before.
func (e *Engine) Close() error {
	closeErr := e.srv.Close()
	if err := <-e.stopped; err != nil && closeErr == nil {
		return fmt.Errorf("dev engine: %w", err)
	}
	return closeErr
}

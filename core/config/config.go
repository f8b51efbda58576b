// Package config is the server's typed configuration. Every setting is a
// flag and a COUNTYCLOUD_* environment variable of the same name; a flag
// given on the command line wins over the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"
)

// EnvPrefix starts the environment variable of every flag.
const EnvPrefix = "COUNTYCLOUD_"

// DefaultControlSchema is the control plane's schema when the DSN names none.
const DefaultControlSchema = "countycloud"

// Server is the configuration of `countycloud server`.
type Server struct {
	Addr           string
	MySQLDSN       string
	SchemaPrefix   string
	DBMaxOpenConns int
	// ProvisionConcurrency caps the counties one replica provisions at
	// once; each holds a named lock on a connection of its own meanwhile.
	ProvisionConcurrency int
	LogLevel             string
	ShutdownTimeout      time.Duration
	Dev                  bool
	DevRootToken         string
}

// RegisterFlags declares the server's flags on fs with their defaults.
func (c *Server) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on, host:port or http://host:port")
	fs.StringVar(&c.MySQLDSN, "mysql-dsn", "", "control-plane database, as a go-sql-driver DSN: user:password@tcp(host:3306)/countycloud")
	fs.StringVar(&c.SchemaPrefix, "schema-prefix", "cc_", "prefix of every county's schema name (cc_gd_shaoguan_wengyuan)")
	fs.IntVar(&c.DBMaxOpenConns, "db-max-open-conns", 32, "cap on open connections per database pool")
	fs.IntVar(&c.ProvisionConcurrency, "provision-concurrency", 8, "counties this replica provisions at once (each holds one more connection meanwhile)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.BoolVar(&c.Dev, "dev", false, "development mode: in-memory database, demo data, nothing is kept")
	fs.StringVar(&c.DevRootToken, "dev-root-token", "", "with -dev, use this operator token instead of a random one")
}

// EnvName is the environment variable that sets the flag called name.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line
// from its environment variable, if that is set.
func ApplyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var problems []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		v, ok := lookup(EnvName(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", EnvName(f.Name), err))
		}
	})
	return errors.Join(problems...)
}

var schemaPrefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,14}$`)

// Validate checks the configuration and says, for every problem, which
// setting is wrong and how to fix it.
func (c *Server) Validate() error {
	var problems []error
	bad := func(flag, format string, args ...any) {
		problems = append(problems, fmt.Errorf("--%s (%s): %s", flag, EnvName(flag), fmt.Sprintf(format, args...)))
	}
	if _, err := c.ListenAddr(); err != nil {
		bad("addr", "%v; give host:port such as 127.0.0.1:8080 or :8080", err)
	}
	switch {
	case c.Dev:
		if c.MySQLDSN != "" {
			bad("mysql-dsn", "cannot be combined with -dev, which runs its own in-memory database; drop one of them")
		}
	case c.MySQLDSN == "":
		bad("mysql-dsn", "is required; give a DSN such as user:password@tcp(db.example:3306)/countycloud, or run with -dev")
	default:
		if cfg, err := c.MySQLConfig(); err != nil {
			bad("mysql-dsn", "%v", err)
		} else if strings.HasPrefix(cfg.DBName, c.SchemaPrefix) {
			bad("mysql-dsn", "control-plane schema %q starts with the county schema prefix %q and could be taken for a county's; rename one of them", cfg.DBName, c.SchemaPrefix)
		}
	}
	if c.DevRootToken != "" && !c.Dev {
		bad("dev-root-token", "only applies with -dev; remove it or add -dev")
	}
	if c.DevRootToken != "" && len(c.DevRootToken) < 8 {
		bad("dev-root-token", "must be at least 8 characters")
	}
	if !schemaPrefixPattern.MatchString(c.SchemaPrefix) {
		bad("schema-prefix", "%q must start with a lowercase letter and hold at most 15 lowercase letters, digits or underscores", c.SchemaPrefix)
	}
	if c.DBMaxOpenConns < 2 {
		bad("db-max-open-conns", "must be at least 2, got %d", c.DBMaxOpenConns)
	}
	if c.ProvisionConcurrency < 1 {
		bad("provision-concurrency", "must be at least 1, got %d", c.ProvisionConcurrency)
	}
	if _, err := c.SlogLevel(); err != nil {
		bad("log-level", "%v", err)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive, such as 30s")
	}
	return errors.Join(problems...)
}

// ListenAddr is Addr as host:port. An http:// URL is accepted so that one
// COUNTYCLOUD_ADDR serves both the server and the CLI that talks to it.
func (c *Server) ListenAddr() (string, error) {
	addr := c.Addr
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return "", fmt.Errorf("%q is not a URL: %w", addr, err)
		}
		if u.Scheme != "http" || (u.Path != "" && u.Path != "/") {
			return "", fmt.Errorf("%q: only a plain http://host:port URL can be listened on", addr)
		}
		addr = u.Host
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", fmt.Errorf("%q is not host:port", c.Addr)
	}
	return addr, nil
}

var controlSchemaPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// MySQLConfig parses MySQLDSN. The DSN's database is the control-plane
// schema, countycloud when it names none.
func (c *Server) MySQLConfig() (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(c.MySQLDSN)
	if err != nil {
		return nil, fmt.Errorf("is not a valid DSN (%v); expected user:password@tcp(host:3306)/countycloud", err)
	}
	if cfg.Net != "tcp" && cfg.Net != "unix" {
		return nil, fmt.Errorf("protocol %q is not supported; use tcp(host:port) or unix(/path/to/socket)", cfg.Net)
	}
	if cfg.DBName == "" {
		cfg.DBName = DefaultControlSchema
	}
	if !controlSchemaPattern.MatchString(cfg.DBName) {
		return nil, fmt.Errorf("database %q must be lowercase letters, digits and underscores, starting with a letter", cfg.DBName)
	}
	return cfg, nil
}

// SlogLevel is LogLevel as a slog.Level.
func (c *Server) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", c.LogLevel)
	}
	return l, nil
}

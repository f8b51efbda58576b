// Package config is the typed configuration of the server and of the
// commands that reach the database directly (migrate, bench). Every
// setting is a flag and a COUNTYCLOUD_* environment variable of the same
// name; a flag given on the command line wins over the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"
)

// EnvPrefix starts the environment variable of every flag.
const EnvPrefix = "COUNTYCLOUD_"

// DefaultControlSchema is the control plane's schema when the DSN names none.
const DefaultControlSchema = "countycloud"

// DefaultCluster is the name of the cluster on the --mysql-dsn host.
const DefaultCluster = "default"

// Database is how to reach the control plane and the clusters that hold
// county schemas.
type Database struct {
	MySQLDSN string
	// Clusters are the clusters besides the default one.
	Clusters       []Cluster
	SchemaPrefix   string
	DBMaxOpenConns int
	// ProvisionConcurrency caps the counties one process provisions (or
	// migrates) at once; each holds a named lock on a connection of its own
	// meanwhile.
	ProvisionConcurrency int
}

// Cluster is a named MySQL-compatible host county schemas can live on.
type Cluster struct {
	Name string
	DSN  string
}

// Server is the configuration of `countycloud server`.
type Server struct {
	Database
	Addr            string
	LogLevel        string
	ShutdownTimeout time.Duration
	Dev             bool
	DevRootToken    string
	// RateLimitCounty and RateLimitAccount are the requests per second
	// one county and one caller may make (twice that in a burst); 0 turns
	// the limit off.
	RateLimitCounty  float64
	RateLimitAccount float64
	// Workers is how many background jobs this replica runs at once; 0
	// leaves them to other replicas.
	Workers int
	SMTP    SMTP
	// PluginDir holds the binaries of registered vendor plugins.
	PluginDir string
	// PluginCallTimeout is the deadline of one call into a plugin.
	PluginCallTimeout time.Duration
	// PluginMaxProcesses bounds the plugin processes running at once;
	// PluginCountyIdleTimeout stops a county-isolated plugin's process
	// of one county that long after its last call.
	PluginMaxProcesses      int
	PluginCountyIdleTimeout time.Duration
	// PluginSandbox is on or off; PluginUser is the account (UID[:GID])
	// plugins run as when the server runs as root; the limits bound each
	// plugin process (0: the server's own).
	PluginSandbox                                     string
	PluginUser                                        string
	PluginMemoryMiB, PluginOpenFiles, PluginProcesses int
	// PluginHostCalls is how many host-service calls a second each plugin
	// process may make.
	PluginHostCalls int
	// FileDir keeps the bytes of the files modules store (videos…),
	// unless S3 names a bucket that does.
	FileDir string
	S3      S3
	// Stripe is where billing sends its calls.
	Stripe Stripe
	// FileSigningKey signs the URLs files go up and down through; every
	// replica needs the same. Without it (outside dev mode) modules keep
	// no files.
	FileSigningKey string
	// SealKey keeps units' seal keys (SM2 private keys) encrypted at rest;
	// every replica needs the same, for as long as the seals are kept.
	SealKey string
	// PublicURL is where clients reach this platform, which file URLs
	// start with.
	PublicURL string
	// OutboundAllow are the non-public networks that counties' and
	// modules' outbound URLs (SMS gateways) may reach; see core/egress.
	OutboundAllow []netip.Prefix
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client's address; from anyone else it counts for nothing.
	TrustedProxies []netip.Prefix
	// PublicBodyLimit bounds the body of a request to a module's public
	// route, and PublicRate is what one address may make of them a
	// second (twice that in a burst).
	PublicBodyLimit int64
	PublicRate      float64
}

// RegisterFlags declares the database flags on fs with their defaults.
func (c *Database) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.MySQLDSN, "mysql-dsn", "", "control-plane database and the default cluster, as a go-sql-driver DSN: user:password@tcp(host:3306)/countycloud")
	fs.Var(clusterList{&c.Clusters}, "cluster", "another cluster for county schemas, NAME=DSN (repeatable; in the environment, separate several with spaces)")
	fs.StringVar(&c.SchemaPrefix, "schema-prefix", "cc_", "prefix of every county's schema name (cc_gd_shaoguan_wengyuan)")
	fs.IntVar(&c.DBMaxOpenConns, "db-max-open-conns", 32, "cap on open connections per database pool")
	fs.IntVar(&c.ProvisionConcurrency, "provision-concurrency", 8, "counties provisioned or migrated at once (each holds one more connection meanwhile)")
}

// RegisterFlags declares the server's flags on fs with their defaults.
func (c *Server) RegisterFlags(fs *pflag.FlagSet) {
	c.Database.RegisterFlags(fs)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on, host:port or http://host:port")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.BoolVar(&c.Dev, "dev", false, "development mode: in-memory database, demo data, nothing is kept")
	fs.StringVar(&c.DevRootToken, "dev-root-token", "", "with -dev, use this operator token instead of a random one")
	fs.Float64Var(&c.RateLimitCounty, "rate-limit-county", 500, "requests per second one county may make, bursts of twice that (0: no limit)")
	fs.IntVar(&c.Workers, "workers", 4, "background jobs this replica runs at once (0: none, leave them to other replicas)")
	fs.Float64Var(&c.RateLimitAccount, "rate-limit-account", 50, "requests per second one caller (account, operator or address) may make, bursts of twice that (0: no limit)")
	fs.StringVar(&c.PluginDir, "plugin-dir", "plugins.d", "directory of the vendor plugin binaries that operators register")
	fs.DurationVar(&c.PluginCallTimeout, "plugin-call-timeout", 30*time.Second, "deadline of one call into a plugin")
	fs.IntVar(&c.PluginMaxProcesses, "plugin-max-processes", 32, "plugin processes running at once; starting one more stops the least recently used idle one")
	fs.DurationVar(&c.PluginCountyIdleTimeout, "plugin-county-idle-timeout", 2*time.Minute, "a county-isolated plugin's process for one county stops this long after its last call, and starts again on demand")
	fs.StringVar(&c.PluginSandbox, "plugin-sandbox", "on", "confine every plugin process (on), or run them as the server's user with nothing but their own environment (off; vendors' plugins then reach whatever this user can)")
	fs.StringVar(&c.PluginUser, "plugin-user", "65534:65534", "account UID[:GID] plugins run as when the server runs as root")
	fs.IntVar(&c.PluginMemoryMiB, "plugin-memory-mib", 1024, "data memory of each plugin process, in MiB (RLIMIT_DATA; 0: no limit)")
	fs.IntVar(&c.PluginOpenFiles, "plugin-open-files", 1024, "open descriptors of each plugin process (0: the server's limit)")
	fs.IntVar(&c.PluginHostCalls, "plugin-host-calls", 1000, "host-service calls a second each plugin process may make (records, files, workflows, notices): its share of the server and the database; raise it with their CPUs")
	fs.IntVar(&c.PluginProcesses, "plugin-processes", 1024, "processes and threads of the plugins' account (RLIMIT_NPROC; with --plugin-user shared by every plugin; 0: no limit)")
	fs.StringVar(&c.FileDir, "file-dir", "files.d", "directory of the files modules keep (videos, attachments), unless --s3-bucket names a bucket for them")
	fs.StringVar(&c.FileSigningKey, "file-signing-key", "", "secret of at least 32 characters that signs file URLs, the same on every replica (without it, modules keep no files)")
	fs.StringVar(&c.SealKey, "seal-key", "", "secret of at least 32 characters that units' electronic seal keys are encrypted under, the same on every replica and kept for as long as the seals (required outside -dev)")
	fs.StringVar(&c.PublicURL, "public-url", "", "where clients reach the platform, such as https://cc.example.gov.cn (default: http:// and --addr)")
	fs.Var(networkList{&c.OutboundAllow}, "outbound-allow", "a non-public network (CIDR or address) that counties' SMS gateways may be on, such as 10.20.0.0/16 (repeatable; in the environment, separate several with spaces or commas); none: only public addresses")
	fs.Var(networkList{&c.TrustedProxies}, "trusted-proxy", "a proxy (CIDR or address) in front of the platform, such as the ingress's 10.20.0.0/16, whose X-Forwarded-For names the client's address for rate limits and the audit trail (repeatable; in the environment, separate several with spaces or commas); none: the connection's address, and X-Forwarded-For is ignored")
	fs.Int64Var(&c.PublicBodyLimit, "public-body-limit", 64<<10, "largest body, in bytes, of a request to a module's public route (no token: citizens, enterprises)")
	fs.Float64Var(&c.PublicRate, "public-rate", 1, "requests per second one address may make to the modules' public routes, bursts of twice that")
	c.S3.RegisterFlags(fs)
	c.Stripe.RegisterFlags(fs)
	c.SMTP.RegisterFlags(fs)
}

// clusterList is the repeatable --cluster flag.
type clusterList struct{ list *[]Cluster }

var clusterNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Set adds one or more NAME=DSN, separated by spaces.
func (c clusterList) Set(s string) error {
	for _, entry := range strings.Fields(s) {
		name, dsn, ok := strings.Cut(entry, "=")
		if !ok || dsn == "" {
			return fmt.Errorf("%q is not NAME=DSN", entry)
		}
		*c.list = append(*c.list, Cluster{Name: name, DSN: dsn})
	}
	return nil
}

// String shows the names only: DSNs hold passwords.
func (c clusterList) String() string {
	if c.list == nil {
		return ""
	}
	names := make([]string, len(*c.list))
	for i, cl := range *c.list {
		names[i] = cl.Name
	}
	return strings.Join(names, ",")
}

func (c clusterList) Type() string { return "NAME=DSN" }

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

// minSealKey is the shortest --seal-key (seals.MinKeyLength).
const minSealKey = 32

var schemaPrefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,14}$`)

// problems collects what is wrong with a configuration, each naming its
// flag and variable and saying how to fix it.
type problems []error

func (p *problems) add(flag, format string, args ...any) {
	*p = append(*p, fmt.Errorf("--%s (%s): %s", flag, EnvName(flag), fmt.Sprintf(format, args...)))
}

// Validate checks the database settings. dev says that an embedded
// engine replaces the DSN.
func (c *Database) Validate(dev bool) error {
	var p problems
	c.validate(&p, dev)
	return errors.Join(p...)
}

func (c *Database) validate(p *problems, dev bool) {
	switch {
	case dev:
		if c.MySQLDSN != "" {
			p.add("mysql-dsn", "cannot be combined with -dev, which runs its own in-memory database; drop one of them")
		}
		if len(c.Clusters) > 0 {
			p.add("cluster", "cannot be combined with -dev, which runs one in-memory database")
		}
	case c.MySQLDSN == "":
		p.add("mysql-dsn", "is required; give a DSN such as user:password@tcp(db.example:3306)/countycloud, or run with -dev")
	default:
		if cfg, err := c.MySQLConfig(); err != nil {
			p.add("mysql-dsn", "%v", err)
		} else if strings.HasPrefix(cfg.DBName, c.SchemaPrefix) {
			p.add("mysql-dsn", "control-plane schema %q starts with the county schema prefix %q and could be taken for a county's; rename one of them", cfg.DBName, c.SchemaPrefix)
		}
	}
	seen := map[string]bool{DefaultCluster: true}
	for _, cl := range c.Clusters {
		switch {
		case !clusterNamePattern.MatchString(cl.Name):
			p.add("cluster", "name %q: use lowercase letters, digits and dashes, starting with a letter", cl.Name)
		case seen[cl.Name]:
			p.add("cluster", "name %q is used twice (%q is the --mysql-dsn host)", cl.Name, DefaultCluster)
		}
		seen[cl.Name] = true
		if _, err := clusterConfig(cl.DSN); err != nil {
			p.add("cluster", "%s: %v", cl.Name, err)
		}
	}
	if !schemaPrefixPattern.MatchString(c.SchemaPrefix) {
		p.add("schema-prefix", "%q must start with a lowercase letter and hold at most 15 lowercase letters, digits or underscores", c.SchemaPrefix)
	}
	if c.DBMaxOpenConns < 2 {
		p.add("db-max-open-conns", "must be at least 2, got %d", c.DBMaxOpenConns)
	}
	if c.ProvisionConcurrency < 1 {
		p.add("provision-concurrency", "must be at least 1, got %d", c.ProvisionConcurrency)
	}
}

// Validate checks the configuration and says, for every problem, which
// setting is wrong and how to fix it.
func (c *Server) Validate() error {
	var p problems
	c.Database.validate(&p, c.Dev)
	if _, err := c.ListenAddr(); err != nil {
		p.add("addr", "%v; give host:port such as 127.0.0.1:8080 or :8080", err)
	}
	if c.DevRootToken != "" && !c.Dev {
		p.add("dev-root-token", "only applies with -dev; remove it or add -dev")
	}
	if c.DevRootToken != "" && len(c.DevRootToken) < 8 {
		p.add("dev-root-token", "must be at least 8 characters")
	}
	if _, err := c.SlogLevel(); err != nil {
		p.add("log-level", "%v", err)
	}
	if c.ShutdownTimeout <= 0 {
		p.add("shutdown-timeout", "must be positive, such as 30s")
	}
	if c.RateLimitCounty < 0 {
		p.add("rate-limit-county", "must be 0 (no limit) or more")
	}
	if c.RateLimitAccount < 0 {
		p.add("rate-limit-account", "must be 0 (no limit) or more")
	}
	if c.PublicBodyLimit < 1 || c.PublicBodyLimit > 1<<20 {
		p.add("public-body-limit", "must be between 1 and 1048576 bytes, such as 65536")
	}
	if c.PublicRate <= 0 {
		p.add("public-rate", "must be more than 0, such as 1")
	}
	if c.Workers < 0 {
		p.add("workers", "must be 0 (no background jobs here) or more")
	}
	if c.PluginMaxProcesses < 1 {
		p.add("plugin-max-processes", "must be at least 1, such as 32")
	}
	if c.PluginCountyIdleTimeout <= 0 {
		p.add("plugin-county-idle-timeout", "must be positive, such as 2m")
	}
	if c.PluginSandbox != "" && c.PluginSandbox != "on" && c.PluginSandbox != "off" {
		p.add("plugin-sandbox", "must be on or off")
	}
	if _, _, err := c.PluginAccount(); err != nil {
		p.add("plugin-user", "%v", err)
	}
	if c.PluginMemoryMiB < 0 || c.PluginOpenFiles < 0 || c.PluginProcesses < 0 {
		p.add("plugin-memory-mib", "the plugin limits must be 0 (none) or more")
	}
	if c.PluginHostCalls < 1 {
		p.add("plugin-host-calls", "must be 1 or more, such as 1000")
	}
	switch {
	case c.SealKey == "" && !c.Dev:
		p.add("seal-key", "is required: units' electronic seals are kept encrypted under it; give a random key of at least %d characters (openssl rand -hex 32), the same on every replica, and keep it as long as the seals", minSealKey)
	case c.SealKey != "" && len(c.SealKey) < minSealKey:
		p.add("seal-key", "must be at least %d characters, got %d", minSealKey, len(c.SealKey))
	}
	c.S3.validate(&p, c.Dev)
	c.Stripe.validate(&p)
	c.SMTP.validate(&p)
	return errors.Join(p...)
}

// PluginAccount is PluginUser as a UID and a GID (the UID's if not
// given); nobody (65534) if empty.
func (c *Server) PluginAccount() (uid, gid int, err error) {
	if c.PluginUser == "" {
		return 65534, 65534, nil
	}
	u, g, hasGID := strings.Cut(c.PluginUser, ":")
	if uid, err = strconv.Atoi(u); err != nil || uid <= 0 {
		return 0, 0, fmt.Errorf("%q is not UID[:GID] of an account other than root, such as 65534:65534", c.PluginUser)
	}
	gid = uid
	if hasGID {
		if gid, err = strconv.Atoi(g); err != nil || gid <= 0 {
			return 0, 0, fmt.Errorf("%q is not UID[:GID] of an account other than root, such as 65534:65534", c.PluginUser)
		}
	}
	return uid, gid, nil
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

func parseDSN(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("is not a valid DSN (%v); expected user:password@tcp(host:3306)/countycloud", err)
	}
	if cfg.Net != "tcp" && cfg.Net != "unix" {
		return nil, fmt.Errorf("protocol %q is not supported; use tcp(host:port) or unix(/path/to/socket)", cfg.Net)
	}
	return cfg, nil
}

// MySQLConfig parses MySQLDSN. The DSN's database is the control-plane
// schema, countycloud when it names none.
func (c *Database) MySQLConfig() (*mysql.Config, error) {
	cfg, err := parseDSN(c.MySQLDSN)
	if err != nil {
		return nil, err
	}
	if cfg.DBName == "" {
		cfg.DBName = DefaultControlSchema
	}
	if !controlSchemaPattern.MatchString(cfg.DBName) {
		return nil, fmt.Errorf("database %q must be lowercase letters, digits and underscores, starting with a letter", cfg.DBName)
	}
	return cfg, nil
}

func clusterConfig(dsn string) (*mysql.Config, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.DBName != "" {
		return nil, fmt.Errorf("names database %q; a cluster DSN names a server only, such as user:password@tcp(db2:3306)/", cfg.DBName)
	}
	return cfg, nil
}

// ClusterConfigs returns every cluster's DSN config, without a database:
// the default cluster (the control plane's host) and the others.
func (c *Database) ClusterConfigs(control *mysql.Config) (map[string]*mysql.Config, error) {
	def := control.Clone()
	def.DBName = ""
	configs := map[string]*mysql.Config{DefaultCluster: def}
	for _, cl := range c.Clusters {
		cfg, err := clusterConfig(cl.DSN)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cl.Name, err)
		}
		configs[cl.Name] = cfg
	}
	return configs, nil
}

// ClusterNames lists the clusters, default first, then by name.
func (c *Database) ClusterNames() []string {
	names := []string{}
	for _, cl := range c.Clusters {
		names = append(names, cl.Name)
	}
	sort.Strings(names)
	return append([]string{DefaultCluster}, names...)
}

// SlogLevel is LogLevel as a slog.Level.
func (c *Server) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", c.LogLevel)
	}
	return l, nil
}

package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args []string, env map[string]string) (*Server, error) {
	t.Helper()
	var c Server
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := ApplyEnv(fs, lookup); err != nil {
		return &c, err
	}
	c.S3.ReadKeys(lookup)
	return &c, c.Validate()
}

func TestValidateSaysWhatIsWrongAndHowToFixIt(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"missing DSN", nil, nil, []string{"--mysql-dsn (COUNTYCLOUD_MYSQL_DSN): is required", "-dev"}},
		{"malformed DSN", []string{"--mysql-dsn", "root@localhost/x"}, nil, []string{"--mysql-dsn", "not a valid DSN", "tcp(host:3306)"}},
		{"malformed DSN from env", nil, map[string]string{"COUNTYCLOUD_MYSQL_DSN": "nonsense"}, []string{"COUNTYCLOUD_MYSQL_DSN", "not a valid DSN"}},
		{"bad database name", []string{"--mysql-dsn", "u:p@tcp(db:3306)/Bad-Name"}, nil, []string{"database \"Bad-Name\""}},
		{"dev with DSN", []string{"--dev", "--mysql-dsn", "u:p@tcp(db:3306)/cc"}, nil, []string{"cannot be combined with -dev"}},
		{"root token without dev", []string{"--mysql-dsn", "u:p@tcp(db:3306)/cc", "--dev-root-token", "abcdefgh"}, nil, []string{"only applies with -dev"}},
		{"bad prefix", []string{"--dev", "--schema-prefix", "CC-"}, nil, []string{"--schema-prefix"}},
		{"bad addr", []string{"--dev", "--addr", "nohost"}, nil, []string{"--addr", "host:port"}},
		{"bad level", []string{"--dev", "--log-level", "loud"}, nil, []string{"--log-level"}},
		{"control schema shaped like a county's", []string{"--mysql-dsn", "u:p@tcp(db:3306)/cc_a_b"}, nil, []string{"starts with the county schema prefix"}},
		{"no provisioning", []string{"--dev", "--provision-concurrency", "0"}, nil, []string{"--provision-concurrency"}},
		{"negative rate limit", []string{"--dev", "--rate-limit-account", "-1"}, nil, []string{"--rate-limit-account", "0 (no limit)"}},
		{"no host calls for plugins", []string{"--dev", "--plugin-host-calls", "0"}, nil, []string{"--plugin-host-calls", "1 or more"}},
		{"no seal key", []string{"--mysql-dsn", "u:p@tcp(db:3306)/cc"}, nil, []string{"--seal-key (COUNTYCLOUD_SEAL_KEY): is required", "openssl rand -hex 32"}},
		{"short seal key", []string{"--dev", "--seal-key", "short"}, nil, []string{"--seal-key", "at least 32 characters, got 5"}},
		{"bad env value", []string{"--dev"}, map[string]string{"COUNTYCLOUD_DB_MAX_OPEN_CONNS": "many"}, []string{"COUNTYCLOUD_DB_MAX_OPEN_CONNS"}},
	}
	for _, c := range cases {
		_, err := parse(t, c.args, c.env)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error shows the password: %q", c.name, err)
		}
	}
}

func TestValidConfigurations(t *testing.T) {
	c, err := parse(t, []string{"--dev"}, map[string]string{"COUNTYCLOUD_ADDR": "http://127.0.0.1:9090"})
	if err != nil {
		t.Fatal(err)
	}
	if addr, _ := c.ListenAddr(); addr != "127.0.0.1:9090" {
		t.Errorf("listen addr = %q", addr)
	}
	c, err = parse(t, []string{"--addr", ":8081"}, map[string]string{
		"COUNTYCLOUD_MYSQL_DSN": "cc:secret@tcp(db:3306)/",
		"COUNTYCLOUD_SEAL_KEY":  "0123456789abcdef0123456789abcdef",
		"COUNTYCLOUD_ADDR":      "http://ignored:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if addr, _ := c.ListenAddr(); addr != ":8081" {
		t.Errorf("a flag did not win over the environment: %q", addr)
	}
	cfg, err := c.MySQLConfig()
	if err != nil || cfg.DBName != DefaultControlSchema {
		t.Errorf("DSN without a database: %v, %v", cfg, err)
	}
}

package config

import (
	"strings"
	"testing"
)

func TestSMTPSettings(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"sender without server", []string{"--dev", "--smtp-from", "noreply@wengyuan.gov.cn"}, nil, "--smtp-from (COUNTYCLOUD_SMTP_FROM): only applies with --smtp-addr"},
		{"server without sender", []string{"--dev", "--smtp-addr", "smtp.example:587"}, nil, "--smtp-from (COUNTYCLOUD_SMTP_FROM): is required"},
		{"server without port", []string{"--dev", "--smtp-addr", "smtp.example", "--smtp-from", "a@b.cn"}, nil, "--smtp-addr"},
		{"sender not an address", []string{"--dev", "--smtp-addr", "smtp.example:587", "--smtp-from", "翁源县"}, nil, "is not an e-mail address"},
		{"password without login", []string{"--dev", "--smtp-addr", "smtp.example:587", "--smtp-from", "a@b.cn"}, map[string]string{"COUNTYCLOUD_SMTP_PASSWORD": "pw"}, "--smtp-password (COUNTYCLOUD_SMTP_PASSWORD): needs --smtp-username"},
	} {
		_, err := parse(t, c.args, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
	cfg, err := parse(t, []string{"--dev", "--smtp-addr", "smtp.example:587"}, map[string]string{
		"COUNTYCLOUD_SMTP_FROM": "翁源县政务云 <noreply@wengyuan.gov.cn>", "COUNTYCLOUD_SMTP_USERNAME": "notifier", "COUNTYCLOUD_SMTP_PASSWORD": "pw",
	})
	if err != nil || cfg.SMTP != (SMTP{Addr: "smtp.example:587", From: "翁源县政务云 <noreply@wengyuan.gov.cn>", Username: "notifier", Password: "pw"}) {
		t.Errorf("a mail server from flags and environment: %+v %v", cfg.SMTP, err)
	}
}

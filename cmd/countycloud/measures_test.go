package main

import (
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
)

// TestWhoReadsACountysMeasures: through the API, only the county's
// admins, a unit admin for the units they reach, and the province's
// operators read its figures; another county's admin and a clerk are
// refused (Lechang's as if Wengyuan did not exist); bad parameters answer 400 with what is wrong.
func TestWhoReadsACountysMeasures(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyunit": auth.RoleUnitAdmin, "wyclerk": auth.RoleClerk})
	wy := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	lc := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.lechang")
	const path = "/v1/tenants/gd.shaoguan.wengyuan/measures?"
	const june = "&from=2026-06-01&to=2026-06-30&by=month"
	for _, tc := range []struct {
		who, token, query string
		status            int
		code              string
	}{
		{"Lechang's admin", lc["lcadmin"], "measure=oa.documents.sent" + june, 404, "tenant_not_found"},
		{"a clerk", wy["wyclerk"], "measure=oa.documents.sent&unit=1" + june, 403, ""},
		{"a unit admin, for the whole county", wy["wyunit"], "measure=oa.documents.sent" + june, 403, auth.CodeOutsideReach},
		{"the county admin, a measure no module declares", wy["wyadmin"], "measure=oa.documents.sent" + june, 400, measure.CodeUnknownMeasure},
		{"the operator, a measure no module declares", env["COUNTYCLOUD_TOKEN"], "measure=oa.documents.sent" + june, 400, measure.CodeUnknownMeasure},
		{"the county admin, by week", wy["wyadmin"], "measure=oa.documents.sent&from=2026-06-01&to=2026-06-30&by=week", 400, measure.CodeInvalidQuery},
		{"the county admin, no measure", wy["wyadmin"], "from=2026-06-01&to=2026-06-30", 400, measure.CodeInvalidQuery},
		{"the county admin, a month from its middle", wy["wyadmin"], "measure=oa.documents.sent&from=2026-06-02&to=2026-06-30&by=month", 400, measure.CodeInvalidQuery},
	} {
		r := call(t, "GET", url+path+tc.query, tc.token, nil)
		want(t, tc.who, r, tc.status, tc.code)
		if tc.status == 400 && !strings.Contains(string(r.body), `"message"`) {
			t.Errorf("%s: %s says nothing of what is wrong", tc.who, r.body)
		}
	}
	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if out := mustCLI(t, e, "measures", "--help"); !strings.Contains(out, "half_month") {
		t.Errorf("measures --help says nothing of the periods:\n%s", out)
	}
	r := cli(t, e, "measures", "--measure", "oa.documents.sent", "--from", "2026-06-01", "--to", "2026-06-30", "-o", "json")
	if r.code != 1 || !strings.Contains(r.stderr, measure.CodeUnknownMeasure) {
		t.Errorf("measures of an undeclared measure: exit %d, %s", r.code, r.stderr)
	}
}

// TestLoginsAndActiveAccountsAreCountedPerCounty: through the API, each
// login with a password counts, a wrong password does not, and an
// account is active once a day however often it logs in or renews its
// session; each county reads its own figures and not the other's, by the
// API and by the CLI.
func TestLoginsAndActiveAccountsAreCountedPerCounty(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	issued := decode[[]auth.IssuedCredential](t, call(t, "POST", url+wy+"/credentials?format=json", op, auth.IssueRequest{}))
	if _, err := db.Server.Exec("UPDATE `" + db.SchemaPrefix + "gd_shaoguan_wengyuan`.credentials SET must_change = FALSE"); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]auth.Tokens{}
	for _, c := range issued {
		want(t, "a wrong password", call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: c.Login, Password: c.Password + "x"}), 401, auth.CodeLoginFailed)
		r := call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: c.Login, Password: c.Password})
		want(t, "login "+c.Login, r, 200, "")
		tokens[c.Login] = decode[auth.Tokens](t, r)
	}
	// The clerk logs in a second time and renews a session.
	for _, c := range issued {
		if c.Login == "wyclerk" {
			want(t, "the clerk's second login", call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: c.Login, Password: c.Password}), 200, "")
		}
	}
	want(t, "refresh", call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": tokens["wyclerk"].RefreshToken}), 200, "")
	lechang := loginAs(t, db, url, op, "gd.shaoguan.lechang")

	today := measure.Day(time.Now())
	query := "?measure=platform.logins,platform.accounts.active&from=" + today + "&to=" + today
	report := decode[measure.Report](t, call(t, "GET", url+wy+"/measures"+query, tokens["wyadmin"].AccessToken, nil))
	if got := figureList(report); got != "platform.accounts.active/1=2 platform.logins/1=3" {
		t.Errorf("Wengyuan's figures: %s", got)
	}
	if len(report.Measures) != 2 || report.Measures[0].Label.ZH != "登录次数" || report.Measures[1].Label.EN != "Active accounts" {
		t.Errorf("the measures' definitions: %+v", report.Measures)
	}
	own := decode[measure.Report](t, call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/measures"+query, lechang["lcadmin"], nil))
	if got := figureList(own); got != "platform.accounts.active/1=1 platform.logins/1=1" {
		t.Errorf("Lechang's figures: %s", got)
	}
	want(t, "Lechang reads Wengyuan's logins", call(t, "GET", url+wy+"/measures"+query, lechang["lcadmin"], nil), 404, "tenant_not_found")
	for _, bad := range []string{"&unit=-1", "&unit=1&unit=2", "&by=year", "&from=2026-02-30", "&colour=red"} {
		want(t, "the query "+bad, call(t, "GET", url+wy+"/measures"+query+bad, tokens["wyadmin"].AccessToken, nil), 400, measure.CodeInvalidQuery)
	}
	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": lechang["lcadmin"], "COUNTYCLOUD_TENANT": "gd.shaoguan.lechang"}
	if out := mustCLI(t, e, "measures", "--measure", "platform.logins", "--from", today, "--to", today); !strings.Contains(out, "登录次数") || !strings.Contains(out, "platform.logins") {
		t.Errorf("Lechang's logins from the CLI: %s", out)
	}
	e["COUNTYCLOUD_TENANT"] = "gd.shaoguan.wengyuan"
	if r := cli(t, e, "measures", "--measure", "platform.logins", "--from", today, "--to", today); r.code == 0 {
		t.Errorf("Lechang's admin read Wengyuan's logins from the CLI: %s", r.stdout)
	}
}

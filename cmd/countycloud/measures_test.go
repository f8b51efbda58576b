package main

import (
	"strings"
	"testing"

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

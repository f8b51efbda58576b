package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// BenchmarkASendingFlow carries one document of 县政府办 through its whole
// sending flow, 拟稿 to 归档 with its distribution to 民政局 and 财政局,
// through the API and the oa plugin (drafting, the body file declared
// and uploaded, ten actions with numbering, sealing and measures), and
// the same actions through the workflow engine in-process, without the
// module: the ratio of the two is what the module and its host cost a
// document.
func BenchmarkASendingFlow(b *testing.B) {
	p := oaCounties(b)
	const county = "gd.shaoguan.wengyuan"
	want(b, "the template", call(b, "PUT", p.wy+"/templates/2", p.tokens["gbadmin"],
		map[string]any{"header": "翁源县人民政府办公室文件", "prefix": "翁府办", "signature": "翁源县人民政府办公室"}), 201, "")
	want(b, "the seal", call(b, "POST", p.url+"/v1/tenants/"+county+"/seals", p.tokens["wyadmin"], map[string]any{"unit_id": 2}), 201, "")
	steps := [][3]string{{"gbclerk", "submit", "check"}, {"gbcheck", "pass", "review"}, {"gblead", "pass", "sign"},
		{"gblead", "sign", "register"}, {"gbclerk", "register", "typeset"}, {"gbclerk", "typeset", "seal"},
		{"gbclerk", "seal", "distribute"}, {"gbclerk", "distribute", "archive"}, {"gbclerk", "archive", "done"}}

	b.Run("api", func(b *testing.B) {
		for i := range b.N {
			r := call(b, "POST", p.wy+"/documents", p.tokens["gbclerk"],
				map[string]any{"title": fmt.Sprintf("关于第%d项工作的通知", i), "main_units": []int64{3}, "copy_units": []int64{4}})
			want(b, "draft", r, 201, "")
			id := decode[struct {
				ID string `json:"id"`
			}](b, r).ID
			oaActs(b, p.wy, "/documents/"+id, p.tokens, steps[:5]...)
			oaAttach(b, p, id)
			oaActs(b, p.wy, "/documents/"+id, p.tokens, steps[5:]...)
		}
	})
	b.Run("engine", func(b *testing.B) {
		r := call(b, "GET", p.url+"/v1/tenants/"+county+"/accounts?limit=100", p.wyEnv["COUNTYCLOUD_TOKEN"], nil)
		want(b, "accounts", r, 200, "")
		people := map[string]context.Context{}
		for _, a := range decode[org.AccountPage](b, r).Accounts {
			people[a.Login] = auth.WithPrincipal(context.Background(),
				auth.Principal{Kind: auth.KindAccount, ID: a.ID, Login: a.Login, Name: a.Name, Tenant: county, Unit: a.UnitID, Roles: a.Roles})
		}
		engine := p.platform.workflows
		for i := range b.N {
			out, err := engine.Start(people["gbclerk"], county, workflow.StartInput{Workflow: "oa.sending", Title: fmt.Sprintf("关于第%d项工作的通知", i)})
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range steps {
				// Within the module's own workflows, as the host acts for
				// the oa plugin: their mandatory steps are the module's.
				in := workflow.ActInput{Action: s[1], Comment: "同意", Within: func(code string) bool { return strings.HasPrefix(code, "oa.") }}
				if s[1] == "distribute" {
					in.RecipientUnitIDs = []int64{3, 4}
				}
				if len(out.Opened) != 1 {
					b.Fatalf("before %s: %d tasks open", s[1], len(out.Opened))
				}
				if out, err = engine.Act(people[s[0]], county, out.Opened[0].ID, in); err != nil {
					b.Fatalf("%s %s: %v", s[0], s[1], err)
				}
			}
			if out.Instance.Status != "done" {
				b.Fatalf("the flow ended %s", out.Instance.Status)
			}
		}
	})
}

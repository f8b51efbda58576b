package web

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/countycloud/countycloud/core/web/webtest"
)

// screenshot, if set, is where TestTheRolloutPageInChromium saves a
// picture of the Chinese overview (docs/console.md says how).
var screenshot = flag.String("screenshot", "", "save a PNG of the rollout overview (zh-CN) at this path")

func TestAMissingChromiumSaysToRunMakeTest(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := webtest.ChromiumPath()
	if err == nil || !strings.Contains(err.Error(), "run `make test`") {
		t.Errorf("without Chromium: %v", err)
	}
}

// TestTheRolloutPageInChromium logs an operator in through the login form
// of a real server, reads the overview in Chinese, switches to English,
// filters it, logs out, and holds the browser to having seen no error and
// no violation of the Content-Security-Policy on the way.
func TestTheRolloutPageInChromium(t *testing.T) {
	c := startConsole(t, sampleOverview{computedAt: time.Now().Add(-40 * time.Second)})
	ctx := webtest.Browser(t)
	// The first run starts the browser; it bears no deadline, as it would
	// end the browser with it.
	if _, err := chromedp.Call(ctx, audits.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var problems webtest.Problems
	if err := problems.Watch(ctx, c.url, ContentSecurityPolicy); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("the text of %s: %v", sel, err)
		}
		return s
	}
	says := func(what, sel string, want ...string) {
		t.Helper()
		got := text(sel)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %s does not say %q:\n%s", what, sel, w, got)
			}
		}
	}
	rows := func() int {
		t.Helper()
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#rollout tbody tr")))
		if err != nil {
			t.Fatal(err)
		}
		return len(nodes)
	}

	run("the login page", chromedp.Navigate(c.url+"/console/rollout"), chromedp.WaitVisible(chromedp.ID("login-form")))
	says("the login page", "main", "运维人员登录", "请先登录。")
	run("logging in",
		chromedp.SendKeys(chromedp.ID("login"), operatorLogin),
		chromedp.SendKeys(chromedp.ID("password"), operatorPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("rollout")))

	says("the Chinese overview", "body", "全省推广概览", "当前用户：张伟", "不到 1 分钟前", "共 6 个县（市、区）")
	says("Wengyuan's row", `tr[data-county="gd.shaoguan.wengyuan"]`, "翁源县", "韶关市", "试运行", "12 天", "4 / 6 项通过",
		"每个重点单位完成 2 次发文流程", "11/13 ≥ 2", "尚缺：县财政局、县教育局", "公文网上办理率", "62.5%")
	says("Shixing's row", `tr[data-county="gd.shaoguan.shixing"]`, "正式运行", "5 / 5 项通过", "无")
	says("Lechang's row", `tr[data-county="gd.shaoguan.lechang"]`, "尚缺：市公安局、市民政局、市自然资源局、市财政局、市交通运输局，另有 1 个单位")
	says("a county without a plan", `tr[data-county="gd.qingyuan.liannan"]`, "连南瑶族自治县\t清远市\t—\t—\t—\t—")
	if n := rows(); n != 6 {
		t.Errorf("the overview shows %d counties, want 6", n)
	}
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang"))
	if err != nil || lang != LangZH {
		t.Errorf("the page's language: %q %v", lang, err)
	}
	// The stylesheet applied: the policy let the console's own through.
	background, err := chromedp.Run(ctx, chromedp.Evaluate[string]("getComputedStyle(document.querySelector('header.top')).backgroundColor"))
	if err != nil || background != "rgb(179, 38, 30)" {
		t.Errorf("the header's background is %q (%v): the stylesheet did not apply", background, err)
	}
	if *screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run("English", chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #rollout`)))
	says("the English overview", "body", "Provincial rollout overview", "Signed in as 张伟", "under a minute ago", "Counties: 6")
	says("Wengyuan in English", `tr[data-county="gd.shaoguan.wengyuan"]`, "Wengyuan County", "Shaoguan", "Trial operation",
		"4 of 6 checks passed", "Every key unit sent 2 documents through the whole flow", "11/13 ≥ 2", "Still missing: 县财政局, 县教育局")

	run("the filter",
		chromedp.SetValue(chromedp.ID("city"), "gd.shaoguan"),
		chromedp.SetValue(chromedp.ID("phase"), "trial"),
		chromedp.Click(chromedp.ID("filter-apply")),
		chromedp.WaitReady(chromedp.CSS(`#phase option[value="trial"][selected]`)),
		chromedp.WaitVisible(chromedp.ID("rollout")))
	if n := rows(); n != 1 {
		t.Errorf("Shaoguan in trial: %d counties, want 1", n)
	}
	says("the filtered overview", "body", "Provincial rollout overview", "Wengyuan County", "Counties: 1")
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.Contains(location, "city=gd.shaoguan") || !strings.Contains(location, "phase=trial") {
		t.Errorf("the filter's address: %q %v", location, err)
	}

	run("logging out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	says("after the logout", "main", "You have logged out.")

	if p := problems.String(); p != "" {
		t.Errorf("the browser reported:\n%s", p)
	}
}

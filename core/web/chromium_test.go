package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// screenshot, if set, is where TestTheRolloutPageInChromium saves a
// picture of the Chinese overview (docs/console.md says how).
var screenshot = flag.String("screenshot", "", "save a PNG of the rollout overview (zh-CN) at this path")

// errNoChromium says what to do when the browser is missing.
var errNoChromium = errors.New("chromium is not installed (no chromium on PATH): run `make test`, which installs it (scripts/ensure-chromium.sh)")

// chromiumPath is Debian's Chromium, which make test installs.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errNoChromium
}

func TestAMissingChromiumSaysToRunMakeTest(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := chromiumPath()
	if err == nil || !strings.Contains(err.Error(), "run `make test`") {
		t.Errorf("without Chromium: %v", err)
	}
}

// browser starts the package's one headless Chromium. Its sandbox needs
// an unprivileged user to drop to, and refuses to start as root, which is
// how CI runs: there (only) it runs without, on pages of this test's own
// loopback server.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	// A Chinese operator's browser: its Accept-Language prefers zh-CN.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1360, 900),
		chromedp.Flag("lang", "zh-CN"), chromedp.Flag("accept-lang", "zh-CN,zh"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	return ctx
}

// pageProblems collects what the browser reports as wrong with the pages:
// console errors and warnings, uncaught exceptions, Content-Security-Policy
// violations, and console answers without the policy.
type pageProblems struct {
	mu       sync.Mutex
	problems []string
}

func (p *pageProblems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *pageProblems) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.problems, "\n")
}

// watch has p collect the problems of the pages of ctx from base.
func (p *pageProblems) watch(ctx context.Context, base string) error {
	return chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				p.add("browser log (%s, %s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				p.add("console.%s called", e.Type)
			}
		case *runtime.EventExceptionThrown:
			p.add("exception: %s", e.ExceptionDetails.Text)
		case *audits.EventIssueAdded:
			if e.Issue.Code == audits.InspectorIssueCodeContentSecurityPolicyIssue {
				d := e.Issue.Details.ContentSecurityPolicyIssueDetails
				p.add("CSP violation: %s blocked %s", d.ViolatedDirective, d.BlockedURL)
			}
		case *network.EventResponseReceived:
			if !strings.HasPrefix(e.Response.URL, base) {
				return
			}
			if got := header(e.Response.Headers, "Content-Security-Policy"); got != ContentSecurityPolicy {
				p.add("%s answered with Content-Security-Policy %q", e.Response.URL, got)
			}
		}
	})
}

// header is the value of name in h, whatever its case.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// TestTheRolloutPageInChromium logs an operator in through the login form
// of a real server, reads the overview in Chinese, switches to English,
// filters it, logs out, and holds the browser to having seen no error and
// no violation of the Content-Security-Policy on the way.
func TestTheRolloutPageInChromium(t *testing.T) {
	c := startConsole(t, sampleOverview{computedAt: time.Now().Add(-40 * time.Second)})
	ctx := browser(t)
	// The first run starts the browser; it bears no deadline, as it would
	// end the browser with it.
	if _, err := chromedp.Call(ctx, audits.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var problems pageProblems
	if err := problems.watch(ctx, c.url); err != nil {
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

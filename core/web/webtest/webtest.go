// Package webtest drives Debian's headless Chromium for the console's
// tests: the browser, and what it reports as wrong with the pages.
package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ErrNoChromium says what to do when the browser is missing.
var ErrNoChromium = errors.New("chromium is not installed (no chromium on PATH): run `make test`, which installs it (scripts/ensure-chromium.sh)")

// ChromiumPath is Debian's Chromium, which make test installs.
func ChromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Browser starts a test's headless Chromium (one per test package). Its sandbox needs
// an unprivileged user to drop to, and refuses to start as root, which is
// how CI runs: there (only) it runs without, on pages of this test's own
// loopback server.
func Browser(t *testing.T) context.Context {
	t.Helper()
	path, err := ChromiumPath()
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

// Problems collects what the browser reports as wrong with the pages:
// console errors and warnings, uncaught exceptions, Content-Security-Policy
// violations, and console answers without the policy.
type Problems struct {
	mu       sync.Mutex
	problems []string
}

func (p *Problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *Problems) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.problems, "\n")
}

// Watch has p collect the problems of the pages of ctx from base, whose
// answers must all carry the Content-Security-Policy csp.
func (p *Problems) Watch(ctx context.Context, base, csp string) error {
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
			if got := Header(e.Response.Headers, "Content-Security-Policy"); got != csp {
				p.add("%s answered with Content-Security-Policy %q", e.Response.URL, got)
			}
		}
	})
}

// Header is the value of name in h, whatever its case.
func Header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// oaProcesses are the pids of the processes serving the oa module that
// the platform p started: other tests' platforms, running meanwhile, have
// their own.
func oaProcesses(p oaPlatform) []int {
	var pids []int
	for _, st := range p.platform.plugins.Manager().Statuses() {
		if st.Plugin == "oa" && st.Running {
			pids = append(pids, st.PID)
		}
	}
	return pids
}

// oaRetry does an action until the module answers other than 503 (the
// module's process restarting), for at most a minute.
func oaRetry(t *testing.T, url, token string, body map[string]any) apiResult {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := call(t, "POST", url, token, body)
		if r.status != 503 || time.Now().After(deadline) {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOfficialDocumentsSurviveTheModulesCrash kills the oa module's
// process while twelve documents are registered at once, and again while
// one is distributed: retried, the numbers are 1 to 12, each once, and
// every recipient has the document once. It kills only the processes its
// own platform started, so the other tests run meanwhile.
func TestOfficialDocumentsSurviveTheModulesCrash(t *testing.T) {
	t.Parallel()
	p := oaCounties(t)
	want(t, "the template", call(t, "PUT", p.wy+"/templates/2", p.tokens["gbadmin"], map[string]any{"header": "翁源县人民政府办公室文件", "prefix": "翁府办", "signature": "翁源县人民政府办公室"}), 201, "")
	want(t, "the seal", call(t, "POST", p.url+"/v1/tenants/gd.shaoguan.wengyuan/seals", p.tokens["wyadmin"], map[string]any{"unit_id": 2}), 201, "")
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = oaDraftToRegister(t, p, fmt.Sprintf("关于第%d批防汛物资的通知", i+1))
	}
	kill := func() {
		pids := oaProcesses(p)
		if len(pids) == 0 {
			t.Fatal("no process serves oa to kill")
		}
		for _, pid := range pids {
			// A process this test's platform started, by its pid.
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, "POST", p.wy+"/documents/"+id+"/act", p.tokens["gbclerk"], map[string]any{"action": "register"})
		}()
	}
	time.Sleep(30 * time.Millisecond)
	kill()
	wg.Wait()
	var numbers []int64
	for _, id := range ids {
		r := oaRetry(t, p.wy+"/documents/"+id+"/act", p.tokens["gbclerk"], map[string]any{"action": "register"})
		// Registered already (its task is 排版 now) or registered now.
		if r.status != 200 && !(r.status == 400 && strings.Contains(string(r.body), "action_not_allowed")) {
			t.Fatalf("register %s after the crash: %d %s", id, r.status, r.body)
		}
		d := decode[struct {
			Sequence int64  `json:"sequence"`
			Status   string `json:"status"`
		}](t, call(t, "GET", p.wy+"/documents/"+id, p.tokens["gbclerk"], nil))
		if d.Status != "typeset" {
			t.Fatalf("document %s is at %s", id, d.Status)
		}
		numbers = append(numbers, d.Sequence)
	}
	slices.Sort(numbers)
	if numbers[0] != 1 || numbers[n-1] != n || len(slices.Compact(numbers)) != n {
		t.Fatalf("numbers after the crash: %v", numbers)
	}

	// The crash during 分发.
	id := ids[0]
	oaAttach(t, p, id)
	oaActs(t, p.wy, "/documents/"+id, p.tokens, [3]string{"gbclerk", "typeset", "seal"}, [3]string{"gbclerk", "seal", "distribute"})
	done := make(chan apiResult)
	go func() {
		done <- call(t, "POST", p.wy+"/documents/"+id+"/act", p.tokens["gbclerk"], map[string]any{"action": "distribute"})
	}()
	time.Sleep(5 * time.Millisecond)
	kill()
	<-done
	r := oaRetry(t, p.wy+"/documents/"+id+"/act", p.tokens["gbclerk"], map[string]any{"action": "distribute"})
	if r.status != 200 && !(r.status == 400 && strings.Contains(string(r.body), "action_not_allowed")) {
		t.Fatalf("distribute after the crash: %d %s", r.status, r.body)
	}
	r = call(t, "GET", p.wy+"/documents/"+id+"/receipts", p.tokens["gbclerk"], nil)
	want(t, "receipts", r, 200, "")
	receipts := decode[struct {
		Receipts []struct {
			UnitID int64 `json:"unit_id"`
		} `json:"receipts"`
	}](t, r).Receipts
	if len(receipts) != 2 || receipts[0].UnitID != 3 || receipts[1].UnitID != 4 {
		t.Fatalf("recipients after the crash: %s", r.body)
	}
	for _, who := range []struct{ token, path string }{{"mzclerk", "/received/" + id + ".3"}, {"czclerk", "/received/" + id + ".4"}} {
		want(t, who.token+" reads what it received", call(t, "GET", p.wy+who.path, p.tokens[who.token], nil), 200, "")
	}
	r = call(t, "GET", p.wy+"/received?unit_id=3", p.tokens["wyadmin"], nil)
	if want(t, "民政局's list", r, 200, ""); strings.Count(string(r.body), `"document_id":"`+id+`"`) != 1 {
		t.Fatalf("民政局 has the document %d times: %s", strings.Count(string(r.body), id), r.body)
	}
}

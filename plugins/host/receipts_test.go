package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// The desk module is the test plugin of the receipts service: PUT
// /letters/{id} keeps a letter, POST /receipts/{id} issues its receipt,
// GET /receipts/{number}/{code} looks one up.
var deskManifest = sdk.Manifest{ID: "desk", Name: "收文台", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Public: []sdk.PublicRoute{{Method: "POST", Path: "/receipts/{id}"}}}

func init() {
	if os.Getenv(pluginEnv) == "desk" {
		sdk.Serve(deskManifest, desk{})
		os.Exit(0)
	}
}

type desk struct{}

func (desk) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	var (
		out any
		err error
	)
	switch {
	case r.Method == "PUT" && len(parts) == 2:
		out, err = r.Host.Put(ctx, "letters", parts[1], 0, json.RawMessage(`{}`))
	case r.Method == "POST" && len(parts) == 2:
		out, err = r.Host.IssueReceipt(ctx, "letters", parts[1])
	case r.Method == "GET" && len(parts) == 3:
		out, err = r.Host.LookupReceipt(ctx, parts[1], parts[2])
	}
	if err != nil {
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	body, _ := json.Marshal(out)
	return &sdk.Response{Body: body}, nil
}

func TestReceiptsAreNumberedPerCountyAndFoundOnlyWithTheirCode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bin.Manifest, f.bin.Env = deskManifest, []string{pluginEnv + "=desk"}
	p := launch(t, f)
	anonymous := &pluginv1.Caller{Kind: "anonymous", Login: "anonymous", Address: "198.51.100.1"}
	do := func(county, method, path string) (int, string) {
		t.Helper()
		resp, err := p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Caller: anonymous, RequestId: "r"})
		if err != nil {
			t.Fatal(err)
		}
		return int(resp.GetStatus()), string(resp.GetBody())
	}
	issue := func(county, id string) (sdk.Receipt, error) {
		if status, body := do(county, "PUT", "/letters/"+id); status != 200 {
			return sdk.Receipt{}, fmt.Errorf("put %s: %d %s", id, status, body)
		}
		status, body := do(county, "POST", "/receipts/"+id)
		var r sdk.Receipt
		if status != 200 || json.Unmarshal([]byte(body), &r) != nil {
			return sdk.Receipt{}, fmt.Errorf("receipt of %s: %d %s", id, status, body)
		}
		return r, nil
	}
	// Twenty in Wengyuan, four at a time (what the host serves one
	// plugin at once): twenty numbers, none twice, none skipped.
	var (
		mu  sync.Mutex
		got = map[string]sdk.Receipt{}
		wg  sync.WaitGroup
	)
	for worker := range 4 {
		wg.Go(func() {
			for i := range 5 {
				r, err := issue(wengyuan, fmt.Sprintf("w%d-%d", worker, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[r.Number] = r
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	year := strings.SplitN(func() string {
		for n := range got {
			return n
		}
		return ""
	}(), "-", 2)[0]
	for i := 1; i <= 20; i++ {
		if _, ok := got[fmt.Sprintf("%s-%06d", year, i)]; !ok {
			t.Errorf("number %d missing from %d receipts", i, len(got))
		}
	}
	// Lechang counts its own.
	l, err := issue(lechang, "l1")
	if err != nil {
		t.Fatal(err)
	}
	if l.Number != year+"-000001" {
		t.Errorf("Lechang's first receipt is %s", l.Number)
	}
	w := got[year+"-000001"]
	if status, body := do(wengyuan, "GET", "/receipts/"+w.Number+"/"+w.Code); status != 200 || !strings.Contains(body, `"collection":"letters"`) {
		t.Errorf("look it up: %d %s", status, body)
	}
	for what, c := range map[string][3]string{
		"in another county":        {lechang, w.Number, w.Code},
		"with another code":        {wengyuan, w.Number, got[year+"-000002"].Code},
		"with an unknown number":   {wengyuan, year + "-000099", w.Code},
		"with a code that is none": {wengyuan, w.Number, "x"},
	} {
		if status, body := do(c[0], "GET", "/receipts/"+c[1]+"/"+c[2]); status != 400 || body != "not found: no receipt has this number and code" {
			t.Errorf("look it up %s: %d %s", what, status, body)
		}
	}
	if status, body := do(wengyuan, "POST", "/receipts/w0-0"); status != 400 || !strings.HasPrefix(body, "changed meanwhile") {
		t.Errorf("a second receipt for a record: %d %s", status, body)
	}
	if status, body := do(wengyuan, "POST", "/receipts/none"); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("a receipt for no record: %d %s", status, body)
	}
}

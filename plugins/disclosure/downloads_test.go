package disclosure

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// TestAPublishedReportsFilesAreDownloaded: a report adopted for the
// portal lists its files with the path of their download route, which
// answers anyone a URL of minutes (never cached); an unpublished report's
// file, a file of another report, one whose bytes have not arrived and an
// address given too many are refused.
func TestAPublishedReportsFilesAreDownloaded(t *testing.T) {
	tt := newTester(t)
	tt.settings = json.RawMessage(`{"office_unit_id": 40}`)
	withFile := func(title, name string, arrive bool) (reportView, reportFile) {
		t.Helper()
		var r reportView
		tt.ok(clerk(), "POST", "/reports", "", work(title), 201, &r)
		var added struct {
			File   reportFile `json:"file"`
			Report reportView `json:"report"`
		}
		tt.ok(clerk(), "POST", "/reports/"+r.ID+"/files", "", map[string]any{"name": name, "content_type": "application/pdf", "size": 2048}, 201, &added)
		if arrive {
			tt.host.Arrive(t, added.File.FileID)
		}
		return added.Report, added.File
	}
	published, file := withFile("县政府办召开政务公开推进会", "会议纪要.pdf", true)
	tt.ok(clerk(), "POST", "/reports/"+published.ID+"/files", "", map[string]any{"name": "附件二.pdf", "content_type": "application/pdf", "size": 10}, 201, nil)
	tt.ok(countyAdmin(), "GET", "/reports/"+published.ID, "", nil, 200, &published)
	pending := published.Files[1]
	tt.ok(officeStaff(), "POST", "/reports/"+published.ID+"/grade", "", map[string]any{"version": published.Version, "use": usePortal}, 200, nil)
	unpublished, hidden := withFile("县政府办开展督查", "督查通报.pdf", true)

	var page publicReportView
	resp := tt.serve(anonymous(), "GET", "/public/reports/"+published.ID, "", nil, nil)
	tt.ok(anonymous(), "GET", "/public/reports/"+published.ID, "", nil, 200, &page)
	if len(page.Attachments) != 2 || page.Attachments[0].Download != "/public/reports/"+published.ID+"/files/"+file.FileID ||
		page.Attachments[0].Name != "会议纪要.pdf" || resp.Header["Cache-Control"] != publicMaxAge {
		t.Fatalf("the published report's attachments: %+v (%q)", page.Attachments, resp.Header["Cache-Control"])
	}

	resp = tt.serve(anonymous(), "GET", page.Attachments[0].Download, "", nil, nil)
	var got struct {
		File reportFile    `json:"file"`
		URL  sdk.SignedURL `json:"download"`
	}
	tt.ok(anonymous(), "GET", page.Attachments[0].Download, "", nil, 200, &got)
	if got.File.FileID != file.FileID || got.URL.URL == "" || got.URL.ExpiresAt.Sub(tt.clock()) != publicDownloadTTL || resp.Header["Cache-Control"] == publicMaxAge {
		t.Fatalf("the download: %+v (cache %q)", got, resp.Header["Cache-Control"])
	}

	tt.fails(anonymous(), "GET", "/public/reports/"+unpublished.ID+"/files/"+hidden.FileID, "", nil, 404, codeNotFound)
	tt.fails(anonymous(), "GET", "/public/reports/"+published.ID+"/files/"+hidden.FileID, "", nil, 404, codeNotFound)
	tt.fails(anonymous(), "GET", "/public/reports/nothing/files/"+file.FileID, "", nil, 404, codeNotFound)
	tt.fails(anonymous(), "GET", page.Attachments[0].Download, "ttl=3600", nil, 400, codeInvalidQuery)
	tt.fails(anonymous(), "GET", "/public/reports/"+published.ID+"/files/"+pending.FileID, "", nil, 409, codeFileNotReady)
	tt.host.SetFail(sdkfake.Nth(1, fmt.Errorf("%w: too many", sdk.ErrBusy), sdkfake.Match("PublicDownloadURL", "", file.FileID)))
	tt.fails(anonymous(), "GET", page.Attachments[0].Download, "", nil, http.StatusTooManyRequests, codeTooManyDownloads)
	tt.host.SetFail(sdkfake.Nth(1, fmt.Errorf("%w: an account's", sdk.ErrDenied), sdkfake.Match("PublicDownloadURL", "", file.FileID)))
	tt.fails(clerk(), "GET", page.Attachments[0].Download, "", nil, http.StatusForbidden, codeForbidden)
}

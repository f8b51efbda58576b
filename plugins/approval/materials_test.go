package approval

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// TestAnApplicantHandsInTheFilesOfTheirMaterials: with the receipt's
// code, a file for a material the application names, then, once asked
// (补正), for the one missing; a wrong code, a material not open to
// files, a type or a size the module does not take, and a decided
// application are refused with nothing changed; the lead department's
// staff read the file, another department's do not.
func TestAnApplicantHandsInTheFilesOfTheirMaterials(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	var receipt receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &receipt)
	files := "/public/applications/" + receipt.Number + "/files"
	file := func(material, contentType string, size int) map[string]any {
		return map[string]any{"code": receipt.Code, "material": material, "name": material + ".pdf", "content_type": contentType, "size": size}
	}

	wrong := file("营业执照", "application/pdf", 1000)
	wrong["code"] = "wrong"
	tt.refused(anonymous(), "POST", files, "", wrong, http.StatusNotFound, codeApplicationNotFound)
	tt.refused(anonymous(), "POST", files, "", file("户口簿", "application/pdf", 1000), http.StatusBadRequest, codeInvalidApplication)
	tt.refused(anonymous(), "POST", files, "", file("营业执照", "text/html", 1000), http.StatusUnsupportedMediaType, codeFileTypeRefused)
	tt.refused(anonymous(), "POST", files, "", file("营业执照", "application/pdf", maxMaterialBytes+1), http.StatusRequestEntityTooLarge, codeFileTooLarge)
	if files := tt.host.Files(); len(files) != 0 {
		t.Fatalf("refused files kept: %v", files)
	}

	var up struct {
		FileID string `json:"file_id"`
		URL    string `json:"url"`
	}
	if s := tt.do(anonymous(), "POST", files, "", file("营业执照", "application/pdf", 1000), &up); s != http.StatusCreated || up.FileID == "" || up.URL == "" {
		t.Fatalf("hand in a file: %d %+v", s, up)
	}
	tt.host.Arrive(t, up.FileID)
	var view materialFileView
	if s := tt.do(clerk(), "GET", "/applications/"+receipt.ID+"/files/"+up.FileID, "", nil, &view); s != http.StatusOK || view.Material != "营业执照" || view.URL.URL == "" {
		t.Fatalf("the clerk reads the file: %d %+v", s, view)
	}
	tt.refused(otherClerk(), "GET", "/applications/"+receipt.ID+"/files/"+up.FileID, "", nil, http.StatusNotFound, codeApplicationNotFound)
	tt.refused(clerk(), "GET", "/applications/"+receipt.ID+"/files/"+"00000000000000000000000000000099", "", nil, http.StatusNotFound, codeFileNotFound)

	// Asked for the licence again (补正): only it takes files now.
	tt.do(clerk(), "POST", "/applications/"+receipt.ID+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, nil)
	tt.refused(anonymous(), "POST", files, "", file("项目备案申请表", "application/pdf", 1000), http.StatusBadRequest, codeInvalidApplication)
	var png struct {
		FileID string `json:"file_id"`
	}
	tt.do(anonymous(), "POST", files, "", file("营业执照", "image/png", 2000), &png)
	tt.host.Arrive(t, png.FileID)
	var got loaded
	tt.do(clerk(), "GET", "/applications/"+receipt.ID, "", nil, &got)
	if len(got.Files) != 2 || got.Files[1].Material != "营业执照" || got.Files[1].ContentType != "image/png" {
		t.Fatalf("the application's files: %+v", got.Files)
	}
	var seen publicView
	if tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "", map[string]any{"code": receipt.Code}, &seen); len(seen.Files) != 2 || seen.Files[0].FileID != up.FileID {
		t.Fatalf("the applicant sees the files: %+v", seen.Files)
	}

	tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/supplements", "", map[string]any{"code": receipt.Code, "materials": []string{"营业执照"}}, nil)
	tt.handIn(receipt, "项目备案申请表")
	tt.do(clerk(), "POST", "/applications/"+receipt.ID+"/acceptance", "", map[string]any{"decision": "accept"}, nil)
	tt.refused(anonymous(), "POST", files, "", file("营业执照", "application/pdf", 1000), http.StatusConflict, codeIllegalTransition)
}

// TestAnOnlineApplicationIsAcceptedOnlyWithAFileOfEveryMaterial: the
// clerk's acceptance of an online application is refused, naming them,
// while a material of the item has no file whose bytes arrived (an
// electronic form included), changing nothing; the clerk may still ask
// for them (补正) or refuse it. The applicant's supplying is refused
// without a file of each material asked for handed in since the request
// (one handed in before does not count), changing nothing. Materials
// handed in at the counter need no file: the staff saw the originals.
// An application made at the counter is accepted without files.
func TestAnOnlineApplicationIsAcceptedOnlyWithAFileOfEveryMaterial(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	var receipt receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &receipt)
	accept := "/applications/" + receipt.ID + "/acceptance"
	unchanged := func(status string) {
		t.Helper()
		var a loaded
		tt.do(clerk(), "GET", "/applications/"+receipt.ID, "", nil, &a)
		if a.Status != status || a.ExaminedBy != "" || !slices.Equal(tt.host.flow.calls, []string{"start application for 20 in 3 days"}) {
			t.Fatalf("a refusal changed the application: %+v, calls %v", a, tt.host.flow.calls)
		}
	}
	lists := func(r refusal, want ...string) {
		t.Helper()
		var got []string
		if err := json.Unmarshal(r.Error.Details, &got); err != nil || !slices.Equal(got, want) {
			t.Fatalf("the refusal lists %s (%v), want %v", r.Error.Details, err, want)
		}
	}
	lists(tt.refused(clerk(), "POST", accept, "", map[string]any{"decision": "accept"}, http.StatusBadRequest, codeMissingMaterials), "项目备案申请表", "营业执照")
	unchanged(statusSubmitted)

	// The licence's bytes arrive; the form's never do.
	licence := tt.handInPending(receipt, "营业执照")[0]
	form := tt.handInPending(receipt, "项目备案申请表")[0]
	lists(tt.refused(clerk(), "POST", accept, "", map[string]any{"decision": "accept"}, http.StatusBadRequest, codeMissingMaterials), "项目备案申请表", "营业执照")
	tt.host.Arrive(t, licence)
	lists(tt.refused(clerk(), "POST", accept, "", map[string]any{"decision": "accept"}, http.StatusBadRequest, codeMissingMaterials), "项目备案申请表")
	unchanged(statusSubmitted)

	// Asked for the form: the file handed in before does not supply it,
	// even arrived.
	tt.host.Arrive(t, form)
	tt.advance(time.Minute)
	tt.do(clerk(), "POST", accept, "", map[string]any{"decision": "correct", "missing": []string{"项目备案申请表"}}, nil)
	supply := map[string]any{"code": receipt.Code, "materials": []string{"项目备案申请表"}}
	supplements := "/public/applications/" + receipt.Number + "/supplements"
	lists(tt.refused(anonymous(), "POST", supplements, "", supply, http.StatusBadRequest, codeMissingMaterials), "项目备案申请表")
	var a loaded
	if tt.do(clerk(), "GET", "/applications/"+receipt.ID, "", nil, &a); a.Status != statusCorrecting || slices.Contains(tt.host.flow.calls, "resume") {
		t.Fatalf("a refused supplement changed the application: %+v, calls %v", a, tt.host.flow.calls)
	}
	// Handed in since: supplied, and its bytes checked at acceptance.
	tt.advance(time.Minute)
	again := tt.handInPending(receipt, "项目备案申请表")[0]
	if s := tt.do(anonymous(), "POST", supplements, "", supply, nil); s != http.StatusOK {
		t.Fatalf("supplied with a file since the request: %d", s)
	}
	lists(tt.refused(clerk(), "POST", accept, "", map[string]any{"decision": "accept"}, http.StatusBadRequest, codeMissingMaterials), "项目备案申请表")
	tt.host.Arrive(t, again)
	if s := tt.do(clerk(), "POST", accept, "", map[string]any{"decision": "accept"}, &a); s != http.StatusOK || a.Status != statusAccepted {
		t.Fatalf("accepted with every file arrived: %d %+v", s, a)
	}

	// At the counter: the originals seen stand for files.
	var other receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &other)
	tt.handIn(other, "项目备案申请表")
	tt.do(clerk(), "POST", "/applications/"+other.ID+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, nil)
	tt.do(clerk(), "POST", "/applications/"+other.ID+"/supplements", "", map[string]any{"materials": []string{"营业执照"}}, nil)
	if s := tt.do(clerk(), "POST", "/applications/"+other.ID+"/acceptance", "", map[string]any{"decision": "accept"}, &a); s != http.StatusOK || !slices.Equal(a.Originals, []string{"营业执照"}) {
		t.Fatalf("accepted with the licence's original seen at the counter: %d %+v", s, a)
	}

	// Refusing one without files is the clerk's to do.
	var bare receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &bare)
	if s := tt.do(clerk(), "POST", "/applications/"+bare.ID+"/acceptance", "", map[string]any{"decision": "reject", "reasons": "未提交材料"}, &a); s != http.StatusOK || a.Status != statusRejected {
		t.Fatalf("refused without files: %d %+v", s, a)
	}
	var counter receiptView
	tt.do(clerk(), "POST", "/applications", "", anApplication("项目备案申请表", "营业执照"), &counter)
	if s := tt.do(clerk(), "POST", "/applications/"+counter.ID+"/acceptance", "", map[string]any{"decision": "accept"}, &a); s != http.StatusOK || a.Status != statusAccepted {
		t.Fatalf("accepted at the counter without files: %d %+v", s, a)
	}
}

// TestAnApplicantDownloadsTheirOwnFile: with the receipt's number and
// code, in the body, the applicant gets a URL of minutes to a file they
// handed in; a wrong code is answered as for the query, another
// application's file as none, a file whose bytes have not arrived is not
// ready, an address the host has given too many is slowed, and staff are
// sent to their own route.
func TestAnApplicantDownloadsTheirOwnFile(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	var mine, theirs receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &mine)
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &theirs)
	myFile, theirFile := tt.handIn(mine, "营业执照")[0], tt.handIn(theirs, "营业执照")[0]
	download := func(r receiptView, file string) string {
		return "/public/applications/" + r.Number + "/files/" + file + "/download"
	}

	var got publicFileView
	if s := tt.do(anonymous(), "POST", download(mine, myFile), "", map[string]any{"code": mine.Code}, &got); s != http.StatusOK ||
		got.URL == "" || got.FileID != myFile || got.Material != "营业执照" || got.ExpiresAt.Sub(tt.clock()) != publicDownloadTTL {
		t.Fatalf("the applicant's download: %d %+v", s, got)
	}
	wrong := tt.refused(anonymous(), "POST", download(mine, myFile), "", map[string]any{"code": "wrong"}, http.StatusNotFound, codeApplicationNotFound)
	unknown := tt.refused(anonymous(), "POST", "/public/applications/2026-999999/files/"+myFile+"/download", "", map[string]any{"code": mine.Code}, http.StatusNotFound, codeApplicationNotFound)
	if strings.ReplaceAll(wrong.Error.Message, mine.Number, "N") != strings.ReplaceAll(unknown.Error.Message, "2026-999999", "N") {
		t.Errorf("a wrong code %q and an unknown number %q are told apart", wrong.Error.Message, unknown.Error.Message)
	}
	tt.refused(anonymous(), "POST", download(mine, theirFile), "", map[string]any{"code": mine.Code}, http.StatusNotFound, codeFileNotFound)
	tt.refused(anonymous(), "POST", download(theirs, theirFile), "", map[string]any{"code": mine.Code}, http.StatusNotFound, codeApplicationNotFound)
	tt.refused(anonymous(), "POST", download(mine, myFile), "code="+mine.Code, nil, http.StatusBadRequest, codeInvalidJSON)
	// The host refuses an account a public download.
	tt.host.SetFail(sdkfake.Nth(1, fmt.Errorf("%w: public downloads are an anonymous caller's", sdk.ErrDenied), sdkfake.Match("PublicDownloadURL", "", "")))
	tt.refused(clerk(), "POST", download(mine, myFile), "", map[string]any{"code": mine.Code}, http.StatusForbidden, codeForbidden)

	pending := tt.handInPending(mine, "项目备案申请表")[0]
	tt.refused(anonymous(), "POST", download(mine, pending), "", map[string]any{"code": mine.Code}, http.StatusConflict, codeFileNotReady)
	// The host has given the address too many public downloads of late.
	tt.host.SetFail(sdkfake.FromNth(1, fmt.Errorf("%w: too many downloads", sdk.ErrBusy), sdkfake.Match("PublicDownloadURL", "", "")))
	tt.refused(anonymous(), "POST", download(mine, myFile), "", map[string]any{"code": mine.Code}, http.StatusTooManyRequests, codeTooManyDownloads)
}

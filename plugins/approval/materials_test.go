package approval

import (
	"net/http"
	"testing"
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
	if len(tt.host.files) != 0 {
		t.Fatalf("refused files kept: %v", tt.host.files)
	}

	var up struct {
		FileID string `json:"file_id"`
		URL    string `json:"url"`
	}
	if s := tt.do(anonymous(), "POST", files, "", file("营业执照", "application/pdf", 1000), &up); s != http.StatusCreated || up.FileID == "" || up.URL == "" {
		t.Fatalf("hand in a file: %d %+v", s, up)
	}
	var view materialFileView
	if s := tt.do(clerk(), "GET", "/applications/"+receipt.ID+"/files/"+up.FileID, "", nil, &view); s != http.StatusOK || view.Material != "营业执照" || view.URL.URL == "" {
		t.Fatalf("the clerk reads the file: %d %+v", s, view)
	}
	tt.refused(otherClerk(), "GET", "/applications/"+receipt.ID+"/files/"+up.FileID, "", nil, http.StatusNotFound, codeApplicationNotFound)
	tt.refused(clerk(), "GET", "/applications/"+receipt.ID+"/files/"+"00000000000000000000000000000099", "", nil, http.StatusNotFound, codeFileNotFound)

	// Asked for the licence again (补正): only it takes files now.
	tt.do(clerk(), "POST", "/applications/"+receipt.ID+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, nil)
	tt.refused(anonymous(), "POST", files, "", file("项目备案申请表", "application/pdf", 1000), http.StatusBadRequest, codeInvalidApplication)
	tt.do(anonymous(), "POST", files, "", file("营业执照", "image/png", 2000), nil)
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
	tt.do(clerk(), "POST", "/applications/"+receipt.ID+"/acceptance", "", map[string]any{"decision": "accept"}, nil)
	tt.refused(anonymous(), "POST", files, "", file("营业执照", "application/pdf", 1000), http.StatusConflict, codeIllegalTransition)
}

package approval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// applicantList is the answer of POST /public/applicant/applications.
type applicantList struct {
	Applications []applicantItem `json:"applications"`
	Next         string          `json:"next"`
}

const applicantsRoute = "/public/applicant/applications"

// applyWith applies online for XK-001 with token (none if empty) and
// returns the answer.
func (tt *tester) applyWith(token string) onlineReceipt {
	tt.t.Helper()
	body := anApplication("项目备案申请表", "营业执照")
	if token != "" {
		body["applicant_token"] = token
	}
	var r onlineReceipt
	if s := tt.do(anonymous(), "POST", "/public/applications", "", body, &r); s != http.StatusCreated {
		tt.t.Fatalf("apply with token %q: %d", token, s)
	}
	tt.advance(time.Minute)
	return r
}

// listOf lists token's applications, one page.
func (tt *tester) listOf(token, after string, limit int) applicantList {
	tt.t.Helper()
	var l applicantList
	if s := tt.do(anonymous(), "POST", applicantsRoute, "", map[string]any{"token": token, "after": after, "limit": limit}, &l); s != http.StatusOK {
		tt.t.Fatalf("the list of %q: %d", token, s)
	}
	return l
}

func numbersOf(l applicantList) string {
	var out []string
	for _, a := range l.Applications {
		out = append(out, a.Number)
	}
	return strings.Join(out, ",")
}

var tokenShape = regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$`)

// TestAnApplicantsTokenListsTheirApplicationsAndNoOneElses: a first
// online application gives a token (160 bits, shown once, kept only as
// its hash); applications made with it join its list, which shows their
// numbers, items, statuses and decisions, newest first, a page at a
// time; another applicant's token lists theirs only; and a token written
// back in lower case or without dashes is the same token.
func TestAnApplicantsTokenListsTheirApplicationsAndNoOneElses(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)

	first := tt.applyWith("")
	if !tokenShape.MatchString(first.ApplicantToken) || !first.Listed || first.Number == "" || first.Code == "" {
		t.Fatalf("the first application's answer: %+v", first)
	}
	// Only the hash is kept: no record holds the token, with or without
	// its dashes.
	for _, coll := range collectionNames() {
		for _, r := range tt.host.Records(coll) {
			for _, secret := range []string{first.ApplicantToken, strings.ReplaceAll(first.ApplicantToken, "-", "")} {
				if strings.Contains(r.ID, secret) || bytes.Contains(r.Document, []byte(secret)) {
					t.Fatalf("record %s/%s holds the token", coll, r.ID)
				}
			}
		}
	}
	if n := tt.host.Count(collApplicants); n != 1 {
		t.Fatalf("%d applicants' records after one application", n)
	}

	second := tt.applyWith(first.ApplicantToken)
	if second.ApplicantToken != "" || !second.Listed {
		t.Fatalf("an application with the token holds a new one, or is not listed: %+v", second)
	}
	written := strings.ToLower(strings.ReplaceAll(first.ApplicantToken, "-", ""))
	third := tt.applyWith("  " + written + " ")
	other := tt.applyWith("")
	if other.ApplicantToken == first.ApplicantToken || !tokenShape.MatchString(other.ApplicantToken) {
		t.Fatalf("a second applicant's token %q", other.ApplicantToken)
	}

	if got, want := numbersOf(tt.listOf(first.ApplicantToken, "", 0)), third.Number+","+second.Number+","+first.Number; got != want {
		t.Fatalf("the first applicant lists %s, want %s", got, want)
	}
	if got := numbersOf(tt.listOf(other.ApplicantToken, "", 0)); got != other.Number {
		t.Fatalf("the other applicant lists %s, want only %s", got, other.Number)
	}

	// Pages.
	page := tt.listOf(written, "", 2)
	if numbersOf(page) != third.Number+","+second.Number || page.Next == "" {
		t.Fatalf("the first page: %+v", page)
	}
	if rest := tt.listOf(first.ApplicantToken, page.Next, 2); numbersOf(rest) != first.Number || rest.Next != "" {
		t.Fatalf("the last page: %+v", rest)
	}
	for _, bad := range []map[string]any{{"token": first.ApplicantToken, "limit": 51}, {"token": first.ApplicantToken, "limit": -1},
		{"token": first.ApplicantToken, "after": "../x"}, {"token": first.ApplicantToken, "number": first.Number}} {
		tt.refused(anonymous(), "POST", applicantsRoute, "", bad, http.StatusBadRequest, codeInvalidJSON)
	}
	// The token never goes in a URL: the route reads the body only.
	tt.refused(anonymous(), "POST", applicantsRoute, "token="+first.ApplicantToken, nil, http.StatusBadRequest, codeInvalidJSON)
	tt.refused(anonymous(), "GET", applicantsRoute, "token="+first.ApplicantToken, nil, http.StatusMethodNotAllowed, codeMethodNotAllowed)

	// Decisions show on the list.
	tt.do(clerk(), "POST", "/applications/"+second.ID+"/acceptance", "", map[string]any{"decision": "reject", "reasons": "不属于本部门受理范围"}, nil)
	var rejected applicantItem
	for _, a := range tt.listOf(first.ApplicantToken, "", 0).Applications {
		if a.Number == second.Number {
			rejected = a
		}
	}
	if rejected.Status != statusRejected || rejected.Decision != statusRejected || rejected.Reasons != "不属于本部门受理范围" || rejected.ItemCode != "XK-001" {
		t.Fatalf("the rejected application on the list: %+v", rejected)
	}
	var listed applicantList
	raw := tt.serve(anonymous(), "POST", applicantsRoute, "", map[string]any{"token": first.ApplicantToken}).Body
	if err := json.Unmarshal(raw, &listed); err != nil || bytes.Contains(raw, []byte("applicant\"")) || bytes.Contains(raw, []byte("91440229MA4UJ1234X")) {
		t.Fatalf("the list shows the applicant's identity or fails: %v %s", err, raw)
	}
}

// TestATokenTheModuleCannotUseIsRefusedAlikeAndWritesNothing: a
// malformed token, one never given, one of another county (another
// host's) and one guessed by the hundred are all the same refusal, on
// the list and on an application, and an application refused for its
// token writes nothing; a token with a full list is refused likewise.
func TestATokenTheModuleCannotUseIsRefusedAlikeAndWritesNothing(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	held := tt.applyWith("")

	elsewhere := newTester(t)
	elsewhere.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	foreign := elsewhere.applyWith("")

	never, _ := newApplicantToken()
	bad := []string{"", " ", "wrong", foreign.ApplicantToken, never, held.ApplicantToken + "A", held.ApplicantToken[:len(held.ApplicantToken)-1],
		strings.ReplaceAll(held.ApplicantToken, "-", "_"), strings.Repeat("A", 32) + "=", strings.Repeat("1", 32), held.ApplicantToken + "\x00"}
	for range 100 {
		guess, _ := newApplicantToken()
		bad = append(bad, guess)
	}
	want := tt.refused(anonymous(), "POST", applicantsRoute, "", map[string]any{"token": never}, http.StatusNotFound, codeApplicantNotFound)
	apps, applicants, audits := tt.host.Count(collApplications), tt.host.Count(collApplicants), len(tt.host.Audits())
	for _, token := range bad {
		got := tt.refused(anonymous(), "POST", applicantsRoute, "", map[string]any{"token": token}, http.StatusNotFound, codeApplicantNotFound)
		if got.Error.Message != want.Error.Message {
			t.Fatalf("token %q is told apart: %+v, not %+v", token, got, want)
		}
		if token == "" {
			continue // an application without a token is given one
		}
		body := anApplication("项目备案申请表", "营业执照")
		body["applicant_token"] = token
		if got := tt.refused(anonymous(), "POST", "/public/applications", "", body, http.StatusNotFound, codeApplicantNotFound); got.Error.Message != want.Error.Message {
			t.Fatalf("an application with token %q is told apart: %+v", token, got)
		}
	}
	if tt.host.Count(collApplications) != apps || tt.host.Count(collApplicants) != applicants || len(tt.host.Audits()) != audits {
		t.Fatal("refused tokens wrote something")
	}
	if l := tt.listOf(held.ApplicantToken, "", 0); numbersOf(l) != held.Number {
		t.Fatalf("the token held lists %s", numbersOf(l))
	}

	// A full list takes no more, and nothing is written.
	key, _ := parseApplicantToken(held.ApplicantToken)
	r, err := tt.host.Get(t.Context(), collApplicants, key)
	if err != nil {
		t.Fatal(err)
	}
	var rec applicantRecord
	if err := json.Unmarshal(r.Document, &rec); err != nil {
		t.Fatal(err)
	}
	for len(rec.Applications) < maxTokenApplications {
		rec.Applications = append(rec.Applications, strings.Repeat("z", 25)+string(rune('a'+len(rec.Applications)%26)))
	}
	if _, err := tt.host.Put(t.Context(), collApplicants, key, r.Version, rec); err != nil {
		t.Fatal(err)
	}
	apps = tt.host.Count(collApplications)
	body := anApplication("项目备案申请表", "营业执照")
	body["applicant_token"] = held.ApplicantToken
	tt.refused(anonymous(), "POST", "/public/applications", "", body, http.StatusConflict, codeApplicantFull)
	if tt.host.Count(collApplications) != apps {
		t.Fatal("an application refused for a full list was written")
	}
}

// TestAnOnlineApplicationIsOneSubmission: the application, its place on
// its token's list (a new token's record, or the list at the version
// read) and its audit entry are handed to the host in one submission,
// all written or none.
func TestAnOnlineApplicationIsOneSubmission(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	first := tt.applyWith("")
	second := tt.applyWith(first.ApplicantToken)
	submissions := tt.host.submitted()
	if len(submissions) != 2 {
		t.Fatalf("%d submissions for two applications", len(submissions))
	}
	for i, want := range []struct {
		id      string
		version int64
	}{{first.ID, 0}, {second.ID, 1}} {
		s := submissions[i]
		if len(s.Also) != 1 || s.Also[0].Collection != collApplicants || s.Also[0].Version != want.version {
			t.Errorf("submission %d writes besides %+v", i, s.Also)
		}
		if a := s.Audit; a == nil || a.Action != "application.submit" || a.ObjectID != want.id || a.Before != nil || a.After != nil {
			t.Errorf("submission %d is audited as %+v", i, a)
		}
	}
	// The entry's after is the application as written, its number in it.
	audits := tt.host.Audits()
	if e := audits[len(audits)-1]; !strings.Contains(fmt.Sprintf("%s", e.After), `"number":"`+second.Number+`"`) {
		t.Errorf("the entry's after %s", e.After)
	}
	at := tt.host.Count(collApplications)
	tt.do(clerk(), "POST", "/applications", "", anApplication("项目备案申请表", "营业执照"), nil)
	submissions = tt.host.submitted()
	if s := submissions[len(submissions)-1]; tt.host.Count(collApplications) != at+1 || len(s.Also) != 0 || s.Audit == nil {
		t.Errorf("at the counter: %+v", s)
	}
}

// TestTwoApplicationsWithOneTokenAtOnceAreBothListed: the list is read
// and written at its version, so of applications made together with one
// token neither is lost.
func TestTwoApplicationsWithOneTokenAtOnceAreBothListed(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	held := tt.applyWith("")
	done := make(chan onlineReceipt, 3)
	for range 3 {
		go func() {
			body := anApplication("项目备案申请表", "营业执照")
			body["applicant_token"] = held.ApplicantToken
			var r onlineReceipt
			resp := tt.serve(anonymous(), "POST", "/public/applications", "", body)
			if err := json.Unmarshal(resp.Body, &r); err != nil || resp.Status != http.StatusCreated {
				t.Errorf("apply at once: %d %s", resp.Status, resp.Body)
			}
			done <- r
		}()
	}
	for range 3 {
		if r := <-done; !r.Listed {
			t.Errorf("application %s is not listed", r.Number)
		}
	}
	if l := tt.listOf(held.ApplicantToken, "", 0); len(l.Applications) != 4 {
		t.Fatalf("the token lists %d applications, want 4", len(l.Applications))
	}
}

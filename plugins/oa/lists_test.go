package oa

import (
	"testing"
	"time"
)

type docList struct {
	Documents []documentView `json:"documents"`
	Next      string         `json:"next"`
}

func TestLists(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	var ids []string
	for i, title := range []string{"关于防汛的通知", "关于安全生产的通知", "关于防汛物资的请示", "会议纪要", "关于防汛值班的通知"} {
		body := draftBody()
		body["title"] = title
		body["urgency"] = "平件"
		if i%2 == 1 {
			body["urgency"] = "特急"
		}
		ids = append(ids, tt.draft(body).ID)
		tt.mu.Lock()
		tt.now = tt.now.Add(time.Second)
		tt.mu.Unlock()
	}
	// Newest first, in pages.
	var page docList
	if status := tt.do(gbClerk, "GET", "/documents", "limit=2", nil, &page); status != 200 || len(page.Documents) != 2 || page.Documents[0].ID != ids[4] || page.Next == "" || page.Documents[0].Body != "" {
		t.Fatalf("first page: %d %+v", status, page)
	}
	var rest docList
	tt.do(gbClerk, "GET", "/documents", "limit=5&after="+page.Next, nil, &rest)
	if len(rest.Documents) != 3 || rest.Documents[2].ID != ids[0] || rest.Next != "" {
		t.Fatalf("the rest: %+v", rest)
	}
	// By title (a part of it) and urgency.
	var found docList
	tt.do(gbClerk, "GET", "/documents", "title=防汛&urgency=平件&limit=1", nil, &found)
	if len(found.Documents) != 1 || found.Documents[0].ID != ids[4] || found.Next == "" {
		t.Fatalf("by title and urgency: %+v", found)
	}
	var next docList
	tt.do(gbClerk, "GET", "/documents", "title=防汛&urgency=平件&after="+found.Next, nil, &next)
	if len(next.Documents) != 2 || next.Documents[0].ID != ids[2] || next.Documents[1].ID != ids[0] || next.Next != "" {
		t.Fatalf("the next of them: %+v", next)
	}
	// Registered ones by year and number.
	d := tt.toSeal(draftBody())
	found = docList{}
	tt.do(gbClerk, "GET", "/documents", "year=2026&number=1", nil, &found)
	if len(found.Documents) != 1 || found.Documents[0].ID != d.ID {
		t.Fatalf("by number: %+v", found)
	}
	tt.do(gbClerk, "GET", "/documents", "status=draft", nil, &found)
	if len(found.Documents) != 5 {
		t.Fatalf("drafts: %d", len(found.Documents))
	}
	// Another unit's list is not a clerk's to read; an admin's is the
	// county's.
	tt.fails(gbClerk, "GET", "/documents", "unit_id=30", nil, 403, codeForbidden)
	tt.do(mzClerk, "GET", "/documents", "", nil, &found)
	if len(found.Documents) != 0 {
		t.Fatalf("民政局 lists 县政府办's: %+v", found)
	}
	tt.do(countyAdmin(), "GET", "/documents", "unit_id=20&limit=100", nil, &found)
	if len(found.Documents) != 6 {
		t.Fatalf("the admin's: %d", len(found.Documents))
	}
	for _, q := range []string{"year=26", "number=0", "urgency=急", "status=Draft", "limit=101", "after=x", "colour=red", "unit_id=abc"} {
		tt.fails(countyAdmin(), "GET", "/documents", q, nil, 400, codeInvalidQuery)
	}
	// The clerk's tasks: 拟稿 of the five drafts and 用印 of the sixth.
	var tasks struct {
		Tasks []myTask `json:"tasks"`
	}
	if status := tt.do(gbClerk, "GET", "/tasks", "", nil, &tasks); status != 200 || len(tasks.Tasks) != 6 || tasks.Tasks[5].Step != stepSeal ||
		tasks.Tasks[5].Flow != wfSending || tasks.Tasks[5].DocumentID != d.ID {
		t.Fatalf("tasks: %d %+v", status, tasks)
	}
	tt.do(gbLead, "GET", "/tasks", "", nil, &tasks)
	if len(tasks.Tasks) != 0 {
		t.Fatalf("the leader's tasks: %+v", tasks)
	}
	tt.fails(operator(), "GET", "/tasks", "", nil, 403, codeForbidden)
}

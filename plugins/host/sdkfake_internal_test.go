package host

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// FuzzTheSDKFakeChecksAsTheHostDoes: a module's handler tests run on
// sdkfake, which repeats the host's checks (the SDK imports nothing of
// the platform); both refuse the same records, documents, file names,
// content types and audit actions, and index the same values.
func FuzzTheSDKFakeChecksAsTheHostDoes(f *testing.F) {
	f.Add("documents", "d-1", []byte(`{"status":"open","n":2,"urgent":true}`), "正文.pdf", "application/pdf", "document.create")
	f.Add("Documents", "d/1", []byte(`[1]`), " ", "video", "Document.create")
	f.Add("d", "", []byte(`{"status":{"a":1}}`), "a\u202eb", "text/plain; charset=UTF-8", "a.b.c.d.e")
	f.Add("received", "x:y.z_1", []byte(`{"status":null,"n":1.50}`), "\u3164", "", "received.mark_read")
	f.Fuzz(func(t *testing.T, collection, id string, document []byte, name, contentType, action string) {
		if !json.Valid(document) {
			// The SDK encodes the document: bytes that are not JSON never
			// reach the host.
			return
		}
		ctx := context.Background()
		indexed := []string{"status", "n", "urgent"}
		fake := sdkfake.New(sdk.Manifest{ID: "oa", Collections: map[string]sdk.Collection{collection: {Indexed: indexed}}}, nil)

		hostErr := checkKey(collection, id)
		var values []fieldValue
		if hostErr == nil {
			values, hostErr = indexedValues(indexed, document)
		}
		_, fakeErr := fake.Put(ctx, collection, id, 0, json.RawMessage(document))
		agree(t, "put", hostErr, fakeErr)
		if hostErr == nil {
			for _, v := range values {
				page, err := fake.Query(ctx, collection, sdk.Query{Where: map[string]string{v.name: v.value}})
				if err != nil || len(page.Records) != 1 {
					t.Fatalf("the host indexes %s=%q, the fake finds %+v, %v", v.name, v.value, page.Records, err)
				}
			}
		}

		cleaned, nameErr := names.Clean("name", name, maxFileName)
		canonical, typeErr := checkContentType(contentType)
		u, fakeErr := fake.CreateUpload(ctx, name, contentType, 1)
		agree(t, "upload", errors.Join(nameErr, typeErr), fakeErr)
		if fakeErr == nil {
			if f, err := fake.File(ctx, u.FileID); err != nil || f.Name != cleaned || f.ContentType != canonical {
				t.Fatalf("the host keeps %q of %q, the fake %+v (%v)", cleaned, canonical, f, err)
			}
		}

		var auditErr error
		if !actionPattern.MatchString(action) || len("oa."+action) > maxAction {
			auditErr = errors.New("the trail refuses the action")
		}
		agree(t, "audit", auditErr, fake.Audit(ctx, sdk.AuditEntry{Action: action, ObjectType: "document", ObjectID: "d-1"}))
	})
}

// agree fails t unless the host and the fake both take a call or both
// refuse it, the fake as sdk.ErrInvalid.
func agree(t *testing.T, call string, hostErr, fakeErr error) {
	t.Helper()
	if (hostErr == nil) != (fakeErr == nil) || fakeErr != nil && !errors.Is(fakeErr, sdk.ErrInvalid) {
		t.Fatalf("%s: the host answers %v, the fake %v", call, hostErr, fakeErr)
	}
}

package auth_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// TestBootstrapCreatesExactlyOneToken races replicas starting together:
// one of them creates the token and shows it; it is stored only hashed.
func TestBootstrapCreatesExactlyOneToken(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	tokens := auth.NewOperatorTokens(db.Control)
	var wg sync.WaitGroup
	created := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := tokens.Bootstrap(context.Background(), "")
			if err != nil {
				t.Error(err)
			}
			if tok != "" {
				created <- tok
			}
		}()
	}
	wg.Wait()
	close(created)
	if len(created) != 1 {
		t.Fatalf("%d replicas created a bootstrap token, want 1", len(created))
	}
	token := <-created
	if !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Errorf("token %q lacks its prefix", token)
	}
	var stored string
	if err := db.Control.Get(&stored, "SELECT token_hash FROM operator_tokens"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, token) || len(stored) != 64 {
		t.Errorf("token stored as %q", stored)
	}
	if op, err := tokens.Verify(context.Background(), token); err != nil || op.Name != auth.BootstrapName {
		t.Errorf("verify = %+v, %v", op, err)
	}
	for _, bad := range []string{"", "x", token + "x", strings.ToUpper(token)} {
		if _, err := tokens.Verify(context.Background(), bad); errs.CodeOf(err) != errs.CodeUnauthenticated {
			t.Errorf("verify %q = %v", bad, err)
		}
	}
}

func TestRequireOperator(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	tokens := auth.NewOperatorTokens(db.Control)
	token, err := tokens.Bootstrap(context.Background(), "fixed-dev-token")
	if err != nil || token != "fixed-dev-token" {
		t.Fatalf("bootstrap = %q, %v", token, err)
	}
	reached := false
	ep := auth.RequireOperator(tokens)(func(context.Context, any) (any, error) { reached = true; return nil, nil })
	for header, ok := range map[string]bool{
		"": false, "Bearer": false, "Bearer wrong": false, "Basic fixed-dev-token": false,
		"Bearer fixed-dev-token": true, "bearer  fixed-dev-token ": true,
	} {
		reached = false
		r := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		_, err := ep(auth.BearerToContext(context.Background(), r), nil)
		if reached != ok || (err == nil) != ok {
			t.Errorf("Authorization %q: reached %v, err %v", header, reached, err)
		}
		if !ok && errs.As(err).Kind != errs.KindUnauthenticated {
			t.Errorf("Authorization %q: %v, want unauthenticated", header, err)
		}
	}
}

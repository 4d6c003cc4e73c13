package token_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/acl"
	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/keys"
	"github.com/portcullis/portcullis/internal/token"
	"golang.org/x/crypto/bcrypt"
)

// spellingAuthn grants any password "pw" and answers with the directory's
// spelling of the name (lower case), as a directory does.
type spellingAuthn struct{}

func (spellingAuthn) Name() string { return "dir" }

func (spellingAuthn) Authenticate(_ context.Context, c authn.Credentials) (authn.Result, error) {
	if c.Password != "pw" {
		return authn.Result{Decision: authn.Deny, Reason: "wrong password"}, nil
	}
	return authn.Result{Decision: authn.Grant, Identity: &authn.Identity{
		Account: strings.ToLower(c.Username), Source: "dir", Kind: authn.KindPassword}}, nil
}

// The request log names the account the token was granted to, not the
// spelling the client typed.
func TestLogNamesGrantedAccount(t *testing.T) {
	chain, err := authn.NewChain([]authn.Link{{Authenticator: spellingAuthn{}}}, nil, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Generate("ES256", keys.GenerateOptions{CommonName: "test", Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.NewSet([]*keys.Key{k}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := acl.New(acl.Default())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	svc, err := token.New(token.Settings{Issuer: "iss", Services: []string{"registry"}, Expiration: 5 * time.Minute},
		token.Deps{Keys: ks, ACL: rules, Authn: chain, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/token?service=registry&scope=repository:alice/x:pull", nil)
	r.SetBasicAuth("ALICE", "pw")
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "account=alice ") || strings.Contains(logs.String(), "account=ALICE") {
		t.Fatalf("log does not name the granted account alice:\n%s", logs.String())
	}
}

package cli

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/store"
)

var tokenLine = regexp.MustCompile(`^pcat_[0-9A-Za-z]{49}\n$`)

func TestAppTokenCommands(t *testing.T) {
	e := newCLIEnv(t, "app_tokens:\n  max_per_user: 3\n")
	ctx := context.Background()
	e.mustRun(t, "pw\n", "user", "add", "alice", "--password-stdin")

	cases := []struct {
		name    string
		args    []string
		wantErr []string
		check   func(t *testing.T, st store.Store, out, errOut string)
	}{
		{"create never expiring", []string{"apptoken", "create", "--user", "alice", "--name", "laptop"}, nil,
			func(t *testing.T, st store.Store, out, errOut string) {
				if !tokenLine.MatchString(out) || !apptoken.LooksLike(strings.TrimSpace(out)) {
					t.Fatalf("stdout is not exactly one token: %q", out)
				}
				if !strings.Contains(errOut, "shown only this once") || !strings.Contains(errOut, "never expires") {
					t.Fatalf("stderr: %s", errOut)
				}
				tok, err := st.GetAppTokenByHash(ctx, apptoken.Hash(strings.TrimSpace(out)))
				if err != nil || tok.User != "alice" || tok.Name != "laptop" || !tok.ExpiresAt.IsZero() {
					t.Fatalf("stored token %+v %v", tok, err)
				}
			}},
		{"create 90d scoped", []string{"apptoken", "create", "--user", "alice", "--name", "ci", "--expires", "90d", "--scope", "repository:alice/*:pull", "--scope", "repository:team/**:pull,push"}, nil,
			func(t *testing.T, st store.Store, out, _ string) {
				tok, err := st.GetAppTokenByHash(ctx, apptoken.Hash(strings.TrimSpace(out)))
				if err != nil {
					t.Fatal(err)
				}
				want := time.Now().Add(90 * 24 * time.Hour)
				if d := tok.ExpiresAt.Sub(want); d < -time.Minute || d > time.Minute {
					t.Fatalf("expires %v, want about %v", tok.ExpiresAt, want)
				}
				if !slices.Equal(tok.Scopes, []string{"repository:alice/*:pull", "repository:team/**:pull,push"}) {
					t.Fatalf("scopes %v", tok.Scopes)
				}
			}},
		{"duplicate name", []string{"apptoken", "create", "--user", "alice", "--name", "ci"}, []string{"already has an app token named ci"}, nil},
		{"bad expiry", []string{"apptoken", "create", "--user", "alice", "--name", "x", "--expires", "90 days"}, []string{"--expires", "90d"}, nil},
		{"bad scope", []string{"apptoken", "create", "--user", "alice", "--name", "x", "--scope", "registry:catalog:*"}, []string{"only repository scopes"}, nil},
		{"bad name", []string{"apptoken", "create", "--user", "alice", "--name", "a b"}, []string{"token name"}, nil},
		{"missing name", []string{"apptoken", "create", "--user", "alice"}, []string{"name"}, nil},
		{"third", []string{"apptoken", "create", "--user", "alice", "--name", "third", "--expires", "2w"}, nil, nil},
		{"over the cap", []string{"apptoken", "create", "--user", "alice", "--name", "fourth"}, []string{"already has 3 app tokens", "maximum", "portcullis apptoken revoke --user alice"}, nil},
		{"list", []string{"apptoken", "list", "--user", "alice"}, nil,
			func(t *testing.T, _ store.Store, out, _ string) {
				for _, w := range []string{"LAST USED", "FROM", "laptop", "never", "repository:alice/*:pull repository:team/**:pull,push", "all (as the user)"} {
					if !strings.Contains(out, w) {
						t.Fatalf("list lacks %q:\n%s", w, out)
					}
				}
				if strings.Contains(out, "pcat_") {
					t.Fatalf("list shows a secret:\n%s", out)
				}
			}},
		{"revoke unknown", []string{"apptoken", "revoke", "--user", "alice", "nope"}, []string{"no app token named nope"}, nil},
		{"revoke", []string{"apptoken", "revoke", "--user", "alice", "laptop"}, nil,
			func(t *testing.T, st store.Store, out, _ string) {
				toks, _ := st.ListAppTokens(ctx, "alice")
				if len(toks) != 2 || !strings.Contains(out, "Revoked app token laptop") {
					t.Fatalf("after revoke: %d tokens, %q", len(toks), out)
				}
			}},
		{"room again after revoke", []string{"apptoken", "create", "--user", "alice", "--name", "fourth"}, nil, nil},
		{"not a database user", []string{"apptoken", "create", "--user", "ldapuser", "--name", "x"}, nil,
			func(t *testing.T, _ store.Store, _, errOut string) {
				if !strings.Contains(errOut, "not a database user") {
					t.Fatalf("no note about the unknown user: %s", errOut)
				}
			}},
	}
	for _, c := range cases {
		out, errOut, err := e.run(t, "", c.args...)
		if c.wantErr != nil {
			wantErr(t, err, c.wantErr...)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, errOut)
		}
		if c.check != nil {
			c.check(t, e.store(t), out, errOut)
		}
	}

	// Last use shows up in the list once recorded.
	st := e.store(t)
	toks, _ := st.ListAppTokens(ctx, "alice")
	used := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := st.TouchAppTokens(ctx, []store.Usage{{Hash: toks[0].Hash, At: used, Addr: "192.0.2.7"}}); err != nil {
		t.Fatal(err)
	}
	out := e.mustRun(t, "", "apptoken", "list")
	if !strings.Contains(out, "2026-01-02T03:04:05Z") || !strings.Contains(out, "192.0.2.7") || !strings.Contains(out, "ldapuser") {
		t.Fatalf("list lacks the last use or other users:\n%s", out)
	}
}

func TestAppTokenDefaultExpiryAndDisabledUser(t *testing.T) {
	e := newCLIEnv(t, "app_tokens:\n  default_expiry: 720h\n")
	e.mustRun(t, "pw\n", "user", "add", "bob", "--password-stdin")
	out := e.mustRun(t, "", "apptoken", "create", "--user", "bob", "--name", "a")
	tok, err := e.store(t).GetAppTokenByHash(context.Background(), apptoken.Hash(strings.TrimSpace(out)))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(tok.ExpiresAt); d < 719*time.Hour || d > 721*time.Hour {
		t.Fatalf("default expiry not applied: %v", tok.ExpiresAt)
	}
	out = e.mustRun(t, "", "apptoken", "create", "--user", "bob", "--name", "b", "--expires", "never")
	tok, _ = e.store(t).GetAppTokenByHash(context.Background(), apptoken.Hash(strings.TrimSpace(out)))
	if !tok.ExpiresAt.IsZero() {
		t.Fatalf("--expires never: %v", tok.ExpiresAt)
	}
	e.mustRun(t, "", "user", "disable", "bob")
	_, _, err = e.run(t, "", "apptoken", "create", "--user", "bob", "--name", "c")
	wantErr(t, err, "bob is disabled")
}

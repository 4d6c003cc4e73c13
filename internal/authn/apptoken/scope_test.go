package apptoken

import (
	"slices"
	"strings"
	"testing"
)

func TestScopeAllows(t *testing.T) {
	tests := []struct {
		name    string
		scopes  []string
		typ     string
		repo    string
		actions []string
		want    []string
	}{
		{"pull only intersects push away", []string{"repository:alice/app:pull"}, "repository", "alice/app", []string{"pull", "push"}, []string{"pull"}},
		{"acl star becomes the scope's actions", []string{"repository:alice/app:pull"}, "repository", "alice/app", []string{"*"}, []string{"pull"}},
		{"scope star keeps what was asked", []string{"repository:alice/app:*"}, "repository", "alice/app", []string{"pull", "push", "delete"}, []string{"pull", "push", "delete"}},
		{"star with star", []string{"repository:**:*"}, "repository", "x/y", []string{"*"}, []string{"*"}},
		{"single star stays in a segment", []string{"repository:alice/*:pull"}, "repository", "alice/team/app", []string{"pull"}, nil},
		{"single star matches one segment", []string{"repository:alice/*:pull"}, "repository", "alice/app", []string{"pull"}, []string{"pull"}},
		{"double star crosses segments", []string{"repository:alice/**:pull,push"}, "repository", "alice/team/app", []string{"push"}, []string{"push"}},
		{"double star needs something after the slash", []string{"repository:alice/**:pull"}, "repository", "alice", []string{"pull"}, nil},
		{"leading double star matches no segment", []string{"repository:**/app:pull"}, "repository", "app", []string{"pull"}, []string{"pull"}},
		{"prefix is not a match", []string{"repository:alice:pull"}, "repository", "alice2", []string{"pull"}, nil},
		{"host and port in the name", []string{"repository:localhost:5000/alice/*:pull"}, "repository", "localhost:5000/alice/app", []string{"pull"}, []string{"pull"}},
		{"scopes add up", []string{"repository:a/*:pull", "repository:a/b:push"}, "repository", "a/b", []string{"pull", "push", "delete"}, []string{"pull", "push"}},
		{"other resource types never match", []string{"repository:**:*"}, "registry", "catalog", []string{"*"}, nil},
		{"bad scope matches nothing", []string{"repository:a:fly"}, "repository", "a", []string{"pull"}, nil},
		{"dot is literal", []string{"repository:a.b:pull"}, "repository", "axb", []string{"pull"}, nil},
		{"order follows the request", []string{"repository:a:push,pull"}, "repository", "a", []string{"pull", "push"}, []string{"pull", "push"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScopeAllows(tt.scopes, tt.typ, tt.repo, tt.actions)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ScopeAllows(%q, %s:%s, %q) = %q, want %q", tt.scopes, tt.typ, tt.repo, tt.actions, got, tt.want)
			}
		})
	}
}

func TestValidateScopes(t *testing.T) {
	for _, ok := range [][]string{nil, {"repository:alice/app:pull"}, {"repository:**:*"}, {"repository:localhost:5000/a/**:pull,push,delete"}} {
		if err := ValidateScopes(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	tests := []struct {
		scope, want string
	}{
		{"alice/app:pull", "want repository:NAME:ACTIONS"},
		{"registry:catalog:*", "only repository scopes"},
		{"repository:alice", "want repository:NAME:ACTIONS"},
		{"repository::pull", "1 to 255"},
		{"repository:a b:pull", "may hold letters"},
		{"repository:a/[x]:pull", "may hold letters"},
		{"repository:a/***:pull", "not ***"},
		{"repository:a:pull,fly", `unknown action "fly"`},
		{"repository:a:", `unknown action ""`},
		{"repository:" + strings.Repeat("a", 256) + ":pull", "1 to 255"},
	}
	for _, tt := range tests {
		err := ValidateScopes([]string{tt.scope})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.scope, err, tt.want)
		}
	}
	many := make([]string, MaxScopes+1)
	for i := range many {
		many[i] = "repository:a:pull"
	}
	if err := ValidateScopes(many); err == nil {
		t.Error("too many scopes accepted")
	}
}

func FuzzScopeAllows(f *testing.F) {
	f.Add("repository:alice/**:pull,push", "alice/a/b", "pull,push,delete")
	f.Add("repository:*/x:*", "a/x", "*")
	f.Add("repository:**/**/**:delete", "a", "delete")
	f.Add("repository:localhost:5000/a:pull", "localhost:5000/a", "pull")
	f.Fuzz(func(t *testing.T, scope, name, actions string) {
		asked := strings.Split(actions, ",")
		got := ScopeAllows([]string{scope}, "repository", name, asked)
		if len(got) > 0 && ValidateScopes([]string{scope}) != nil {
			t.Fatalf("invalid scope %q granted %q", scope, got)
		}
		for _, a := range got {
			// Everything granted was asked for, or expands an asked "*".
			if !slices.Contains(asked, a) && !slices.Contains(asked, "*") {
				t.Fatalf("granted %q not asked in %q", a, asked)
			}
			if !strings.HasSuffix(scope, a) && !strings.Contains(scope, ":"+a) && !strings.Contains(scope, ","+a) && !strings.HasSuffix(scope, "*") {
				t.Fatalf("granted %q not named by %q", a, scope)
			}
		}
		// A name with a '/' never matches a glob whose only wildcards are single stars with no '/'.
		if len(got) > 0 && !strings.Contains(scope, "**") && strings.Count(name, "/") != strings.Count(scope[strings.IndexByte(scope, ':')+1:strings.LastIndexByte(scope, ':')], "/") {
			t.Fatalf("%q matched %q across a segment", scope, name)
		}
	})
}

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command tree with args against a config file holding
// cfgYAML and returns stdout and the error.
func runACLCLI(t *testing.T, cfgYAML string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte("data_dir: "+dir+"\n"+cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	root := NewRoot(a)
	root.SetArgs(append([]string{"--config", path}, args...))
	err := root.Execute()
	return out.String(), err
}

const aclTestConfig = `
acl:
  - match: {name: "secret/**"}
    deny: true
    comment: nobody reads secrets
  - match: {account: "ci-*", name: "localhost:5000/**"}
    actions: [pull]
    comment: ci mirrors
  - match: {anonymous: false, labels: {team: [web]}, name: "web/*"}
    actions: [pull, push]
    comment: web team
  - match: {ip: [10.0.0.0/8], service: registry}
    actions: [pull]
    comment: office reads
`

func TestACLCheck(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // in order
	}{
		{"deny", []string{"--account", "alice", "--scope", "repository:secret/x:pull"},
			[]string{"repository:secret/x:pull\n", "granted: denied", "rule:    acl[0] (nobody reads secrets)", "deny: true"}},
		{"host port name", []string{"--account", "ci-1", "--scope", "repository:localhost:5000/lib/app:pull,push"},
			[]string{"granted: pull\n", "rule:    acl[1] (ci mirrors)", `name: localhost:5000/**`, "- pull"}},
		{"labels", []string{"--account", "bob", "--label", "team=ops", "--label", "team=web", "--scope", "repository:web/site:push,pull,delete"},
			[]string{"granted: push,pull\n", "acl[2] (web team)"}},
		{"anonymous skips authenticated rule", []string{"--anonymous", "--scope", "repository:web/site:pull"},
			[]string{"granted: nothing granted", "rule:    none matched"}},
		{"ip and service", []string{"--account", "bob", "--ip", "10.9.9.9", "--scope", "repository:any:pull,push"},
			[]string{"granted: pull\n", "acl[3] (office reads)"}},
		{"other service", []string{"--account", "bob", "--ip", "10.9.9.9", "--service", "other", "--scope", "repository:any:pull"},
			[]string{"granted: nothing granted", "none matched"}},
		{"matched but no action in common", []string{"--account", "bob", "--ip", "10.9.9.9", "--scope", "repository:any:delete"},
			[]string{"granted: nothing granted", "acl[3]"}},
		{"several scopes", []string{"--account", "alice", "--scope", "repository:secret/a:pull", "--scope", "registry:catalog:*"},
			[]string{"repository:secret/a:pull\n  granted: denied", "registry:catalog:*\n  granted: nothing granted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runACLCLI(t, aclTestConfig, append([]string{"acl", "check"}, tt.args...)...)
			if err != nil {
				t.Fatalf("error %v; output:\n%s", err, out)
			}
			pos := 0
			for _, w := range tt.want {
				i := strings.Index(out[pos:], w)
				if i < 0 {
					t.Fatalf("output:\n%s\nwant (in order) %q", out, w)
				}
				pos += i + len(w)
			}
		})
	}
}

func TestACLCheckDefaultRules(t *testing.T) {
	out, err := runACLCLI(t, "", "acl", "check", "--account", "alice", "--scope", "repository:alice/team/app:pull,push", "--scope", "repository:bob/app:pull")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"granted: pull,push\n  rule:    default acl[1]", "name: ${account}/**", "repository:bob/app:pull\n  granted: nothing granted\n  rule:    none matched"} {
		if !strings.Contains(out, w) {
			t.Fatalf("output:\n%s\nwant %q", out, w)
		}
	}
	// An account named with a "/" does not own a part of another
	// account's repositories.
	out, err = runACLCLI(t, "", "acl", "check", "--account", "alice/ci", "--scope", "repository:alice/ci/app:pull,push")
	if err != nil || !strings.Contains(out, "granted: nothing granted") {
		t.Fatalf("account alice/ci: %v\n%s", err, out)
	}
	out, err = runACLCLI(t, "", "acl", "check", "--account", "root", "--admin", "--scope", "registry:catalog:*")
	if err != nil || !strings.Contains(out, "granted: *\n  rule:    default acl[0]") {
		t.Fatalf("admin: %v\n%s", err, out)
	}
}

func TestACLCheckErrors(t *testing.T) {
	tests := []struct {
		name, cfg string
		args      []string
		want      string
	}{
		{"no subject", "", []string{"--scope", "repository:a:pull"}, "give --account NAME or --anonymous"},
		{"both subjects", "", []string{"--account", "a", "--anonymous", "--scope", "repository:a:pull"}, "not both"},
		{"no scope", "", []string{"--account", "a"}, `"scope" not set`},
		{"bad scope", "", []string{"--account", "a", "--scope", "repository:a"}, "want type:name:actions"},
		{"bad action", "", []string{"--account", "a", "--scope", "repository:a:pull;rm"}, "malformed action"},
		{"bad class", "", []string{"--account", "a", "--scope", "repository(plugin:a:pull"}, "malformed resource class"},
		{"bad label", "", []string{"--account", "a", "--label", "team", "--scope", "repository:a:pull"}, "want KEY=VALUE"},
		{"bad ip", "", []string{"--account", "a", "--ip", "nope", "--scope", "repository:a:pull"}, "--ip"},
		{"bad rules", "acl:\n  - match: {name: \"/(/\"}\n    actions: [pul]\n", []string{"--account", "a", "--scope", "repository:a:pull"}, `acl[0].match.name: invalid regex`},
		{"misspelt key", "acl:\n  - match: {acount: a}\n    actions: [pull]\n", []string{"--account", "a", "--scope", "repository:a:pull"}, "acount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runACLCLI(t, tt.cfg, append([]string{"acl", "check"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestACLShow(t *testing.T) {
	out, err := runACLCLI(t, aclTestConfig, "acl", "show")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"# acl[0]\n- match:\n    name: secret/**\n  deny: true", "# acl[3]", "- 10.0.0.0/8"} {
		if !strings.Contains(out, w) {
			t.Fatalf("output:\n%s\nwant %q", out, w)
		}
	}
	out, err = runACLCLI(t, "", "acl", "show")
	if err != nil || !strings.Contains(out, "default rules apply") || !strings.Contains(out, "${account}/**") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		in, typ, class, name, actions string
	}{
		{"repository:alice/app:pull,push", "repository", "", "alice/app", "pull,push"},
		{"repository:localhost:5000/alice/app:pull", "repository", "", "localhost:5000/alice/app", "pull"},
		{"repository(plugin):p/x:pull", "repository", "plugin", "p/x", "pull"},
		{"registry:catalog:*", "registry", "", "catalog", "*"},
		{"repository:[::1]:5000/a:push", "repository", "", "[::1]:5000/a", "push"},
	}
	for _, tt := range tests {
		r, err := parseScope(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if r.Type != tt.typ || r.Class != tt.class || r.Name != tt.name || strings.Join(r.Actions, ",") != tt.actions {
			t.Fatalf("%s: %+v", tt.in, r)
		}
	}
	for _, bad := range []string{"", "repository", "repository:a", ":a:pull", "repository::pull", "repository:a:"} {
		if _, err := parseScope(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"repository:a/b:pull", "repository(plugin):x:push,pull", "registry:catalog:*", "a:b:c:d", "(:):"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseScope(s)
		if err != nil {
			return
		}
		if r.Type == "" || r.Name == "" || len(r.Actions) == 0 || strings.ContainsRune(r.Type, ':') {
			t.Fatalf("%q parsed to %+v", s, r)
		}
	})
}

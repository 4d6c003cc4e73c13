package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// ldapCLIConfig is a search-then-bind authenticator over StartTLS against
// the LDAP backend's fixture directory.
const ldapCLIConfig = `
authn:
  chain:
    - type: ldap
      name: corp
      ldap:
        urls: [@URL@]
        start_tls: true
        ca_file: @CA@
        bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
        bind_password: svc-secret
        base_dn: dc=example,dc=org
        user_filter: (&(objectClass=inetOrgPerson)(uid={username}))
        labels: {email: mail}
        group_search:
          base_dn: ou=groups,dc=example,dc=org
          filter: (&(objectClass=groupOfNames)(member={dn}))
        admin_groups: [registry-admins]
        disabled_filter: (employeeType=disabled)
        dial_timeout: 1s
        bind_timeout: 2s
        search_timeout: 2s
`

// runLDAPCLI runs the command tree with stdin and returns stdout, stderr
// and the error Execute would turn into the exit status.
func runLDAPCLI(t *testing.T, cfgYAML, stdin string, args ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte("data_dir: "+dir+"\n"+cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	root := NewRoot(a)
	root.SetArgs(append([]string{"--config", path}, args...))
	err := root.Execute()
	for _, pw := range []string{"alice-pw", "not-alices", "svc-secret"} {
		if strings.Contains(out.String()+errOut.String(), pw) {
			t.Errorf("password %q printed:\n%s\n%s", pw, out.String(), errOut.String())
		}
	}
	return out.String(), errOut.String(), err
}

func TestLDAPTestCommand(t *testing.T) {
	testenv.Integration(t)
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: "../authn/ldap/testdata/directory.ldif"})
	cfg := strings.NewReplacer("@URL@", s.URL, "@CA@", s.CAFile).Replace(ldapCLIConfig)

	tests := []struct {
		name, user, password string
		wantOut              []string // in order
		wantErr              string   // "" for success
	}{
		{"grant", "carol", "carol-pw\n", []string{
			"authenticator: corp (search-then-bind)\n",
			"server:        " + s.URL + "\n",
			"filter:        (&(objectClass=inetOrgPerson)(uid=carol))\n",
			"dn:            uid=carol,ou=people,dc=example,dc=org\n",
			"bind:          ok\n",
			"disabled:      no\n",
			"decision:      grant (password ok)\n",
			"account:       carol\n",
			"admin:         yes\n",
			"labels:\n  email: carol@example.org\n  groups: ",
		}, ""},
		{"wrong password", "alice", "not-alices\n", []string{
			"dn:            uid=alice,ou=people,dc=example,dc=org\n",
			// No "disabled:" line: the checks never ran.
			"bind:          invalid credentials\ndecision:      deny (wrong password)\n",
		}, "login of alice refused: wrong password (deny)"},
		{"unknown user", "mallory", "x\n", []string{
			"filter:        (&(objectClass=inetOrgPerson)(uid=mallory))\n",
			"dn:            (none found)\n",
			"bind:          not attempted\ndecision:      abstain (unknown user)\n",
		}, "login of mallory refused: unknown user (abstain)"},
		{"disabled", "erin", "erin-pw\n", []string{
			"bind:          ok\n",
			"disabled:      yes\n",
			"decision:      deny (account disabled)\n",
		}, "account disabled"},
		{"escaped filter", "*", "x\n", []string{
			`filter:        (&(objectClass=inetOrgPerson)(uid=\2a))` + "\n",
			"dn:            (none found)\n",
		}, "unknown user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runLDAPCLI(t, cfg, tc.password, "ldap", "test", "--user", tc.user, "--password-stdin")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v\n%s", err, out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q\n%s", err, tc.wantErr, out)
			}
			rest := out
			for _, w := range tc.wantOut {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if tc.wantErr != "" && strings.Contains(out, "labels:") {
				t.Fatalf("labels printed for a refused login:\n%s", out)
			}
		})
	}

	t.Run("directory down", func(t *testing.T) {
		s.Stop()
		defer s.Start()
		out, stderr, err := runLDAPCLI(t, cfg, "alice-pw\n", "ldap", "test", "--user", "alice", "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), "directory unavailable") || !strings.Contains(err.Error(), s.URL) {
			t.Fatalf("error %v\n%s", err, out)
		}
		if !strings.Contains(out, "error:") || strings.Contains(out, "decision:") {
			t.Fatalf("output:\n%s", out)
		}
		// Nothing was searched: the user is not reported missing.
		if strings.Contains(out, "none found") || !strings.Contains(out, "dn:            (not looked up: no server reachable)\n") {
			t.Fatalf("dn line of an unreachable directory:\n%s", out)
		}
		if !strings.Contains(stderr, "ldap server unreachable") {
			t.Fatalf("no log line about the server:\n%s", stderr)
		}
	})
	t.Run("password needs a terminal or --password-stdin", func(t *testing.T) {
		_, _, err := runLDAPCLI(t, cfg, "alice-pw\n", "ldap", "test", "--user", "alice")
		if err == nil || !strings.Contains(err.Error(), "--password-stdin") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("empty password", func(t *testing.T) {
		_, _, err := runLDAPCLI(t, cfg, "\n", "ldap", "test", "--user", "alice", "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), "empty password") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("user is required", func(t *testing.T) {
		_, _, err := runLDAPCLI(t, cfg, "", "ldap", "test", "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), "user") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("no ldap authenticator", func(t *testing.T) {
		_, _, err := runLDAPCLI(t, "", "x\n", "ldap", "test", "--user", "alice", "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), "no authenticator of type ldap") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("unknown authenticator name", func(t *testing.T) {
		_, _, err := runLDAPCLI(t, cfg, "x\n", "ldap", "test", "--user", "alice", "--password-stdin", "--authenticator", "other")
		if err == nil || !strings.Contains(err.Error(), `no ldap authenticator named "other" (have: corp)`) {
			t.Fatalf("error %v", err)
		}
	})
}

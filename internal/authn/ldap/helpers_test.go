package ldap

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testenv"
)

const (
	svcDN       = "cn=portcullis-svc,ou=services,dc=example,dc=org"
	specialUser = `zoë*(x)\y`
	specialPass = `pä$$*()\wörd`
)

// startDirectory starts slapd loaded with testdata/directory.ldif.
func startDirectory(t *testing.T) *testenv.Slapd {
	t.Helper()
	testenv.Integration(t)
	return testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: "testdata/directory.ldif"})
}

// searchConfig is search-then-bind over StartTLS with memberOf groups,
// admin group and both disabled checks.
const searchConfig = `
urls: [{{.URL}}]
start_tls: true
ca_file: {{.CAFile}}
bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
bind_password: svc-secret
base_dn: dc=example,dc=org
user_filter: (&(objectClass=inetOrgPerson)(uid={username}))
labels: {email: mail, groups: memberOf}
cn_from_dn: true
admin_groups: [Registry-Admins]
disabled_attribute: pwdAccountLockedTime
disabled_filter: (employeeType=disabled)
dial_timeout: 2s
bind_timeout: 2s
search_timeout: 2s
`

// parseLDAP runs a YAML ldap section, filled from the slapd's fields and
// extra, through the real configuration loader.
func parseLDAP(t *testing.T, s *testenv.Slapd, body string, extra ...string) config.LDAPConfig {
	t.Helper()
	c, err := parseLDAPErr(s, body, extra...)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func parseLDAPErr(s *testenv.Slapd, body string, extra ...string) (config.LDAPConfig, error) {
	var buf bytes.Buffer
	if err := template.Must(template.New("").Parse(body)).Execute(&buf, s); err != nil {
		return config.LDAPConfig{}, err
	}
	for _, e := range extra {
		buf.WriteString(e + "\n")
	}
	var y strings.Builder
	y.WriteString("authn:\n  chain:\n    - type: ldap\n      name: corp\n      ldap:\n")
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.TrimSpace(line) != "" {
			y.WriteString("        " + line + "\n")
		}
	}
	cfg, err := config.Parse([]byte(y.String()), "/tmp/portcullis-ldap-test", func(string) (string, bool) { return "", false })
	if err != nil {
		return config.LDAPConfig{}, err
	}
	return *cfg.Authn.Chain[0].LDAP, nil
}

func newBackend(t *testing.T, cfg config.LDAPConfig) *Backend {
	t.Helper()
	b, err := New("corp", cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// testLogger writes to the test's log and fails the test if a password
// from the fixture ever appears in a log line.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(&tlogWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t *testing.T }

var fixturePasswords = []string{"alice-pw", "bob-pw", "carol-pw", "dave-pw", "erin-pw", "svc-secret", "twin-pw", specialPass}

func (w *tlogWriter) Write(p []byte) (int, error) {
	for _, pw := range fixturePasswords {
		if bytes.Contains(p, []byte(pw)) {
			w.t.Errorf("password %q written to the log: %s", pw, p)
		}
	}
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func login(t *testing.T, b *Backend, user, password string) (authn.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.Authenticate(ctx, authn.Credentials{Username: user, Password: password})
}

// mustDecide asserts a decision without error and returns the result.
func mustDecide(t *testing.T, b *Backend, user, password string, want authn.Decision) authn.Result {
	t.Helper()
	res, err := login(t, b, user, password)
	if err != nil {
		t.Fatalf("login %q: unexpected error: %v", user, err)
	}
	if res.Decision != want {
		t.Fatalf("login %q: decision %s (%s), want %s", user, res.Decision, res.Reason, want)
	}
	if want == authn.Grant && res.Identity == nil {
		t.Fatalf("login %q: grant without identity", user)
	}
	return res
}

func fmtLabels(l map[string][]string) string { return fmt.Sprint(l) }

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

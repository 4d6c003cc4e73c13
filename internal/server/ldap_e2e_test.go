package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testenv"
	"golang.org/x/crypto/bcrypt"
)

// LDAP fixture users (internal/authn/ldap/testdata/directory.ldif):
// alice in team-a, bob in team-b, carol in team-b and registry-admins,
// dave locked, erin disabled. "builder" is a static user after the
// directory in the chain.
const (
	ldapFixture     = "../authn/ldap/testdata/directory.ldif"
	builderPassword = "builder-secret"
)

// ldapChainYAML is the authn section: app tokens, the directory, then a
// static user the directory does not know. @CACHE@, @ONERROR@ and
// @LDAPEXTRA@ vary per test.
const ldapChainYAML = `authn:
  bcrypt_cost: 4
  cache: @CACHE@
  chain:
    - type: apptoken
    - type: ldap
      name: corp
      on_error: @ONERROR@
      ldap:
        urls: [@URL@]
        start_tls: true
        ca_file: @CA@
        bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
        bind_password: svc-secret
        base_dn: ou=people,dc=example,dc=org
        user_filter: (&(objectClass=inetOrgPerson)(uid={username}))
        group_search:
          base_dn: ou=groups,dc=example,dc=org
          filter: (&(objectClass=groupOfNames)(member={dn}))
        disabled_attribute: pwdAccountLockedTime
        disabled_filter: (employeeType=disabled)
        dial_timeout: 1s
        bind_timeout: 2s
        search_timeout: 2s
@LDAPEXTRA@
    - type: static
      name: local
      users:
        builder:
          password: "@BUILDERHASH@"
          labels: {groups: [team-b]}
acl:
  - match: {account: bob, type: repository, name: "team-b/frozen"}
    deny: true
    comment: bob may not touch team-b/frozen
  - match: {type: repository, labels: {groups: [registry-admins]}, name: "shared/**"}
    actions: [pull, push]
    comment: registry admins publish shared images
  - match: {anonymous: false, type: repository, name: "${labels:groups}/*"}
    actions: [pull, push]
    comment: each group owns its namespace
`

type ldapSetup struct {
	cache     string // authn.cache value
	onError   string
	ldapExtra []string // more keys of the ldap section
	// directBind replaces search-then-bind with the service account by a
	// direct bind (user_dn_template) without one.
	directBind bool
}

// startLDAPPortcullis runs Portcullis with the LDAP chain above against s.
// The shared harness fixes the chain, so this builds its own config and
// reuses the instance type.
func startLDAPPortcullis(t *testing.T, s *testenv.Slapd, o ldapSetup) *instance {
	t.Helper()
	if o.cache == "" {
		o.cache = "{enabled: false}"
	}
	if o.onError == "" {
		o.onError = "fail"
	}
	h, err := bcrypt.GenerateFromPassword([]byte(builderPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var extra strings.Builder
	for _, e := range o.ldapExtra {
		extra.WriteString("        " + e + "\n")
	}
	chain := strings.NewReplacer("@CACHE@", o.cache, "@ONERROR@", o.onError, "@URL@", s.URL, "@CA@", s.CAFile,
		"@LDAPEXTRA@\n", extra.String(), "@BUILDERHASH@", string(h)).Replace(ldapChainYAML)
	if o.directBind {
		search := "        bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org\n" +
			"        bind_password: svc-secret\n" +
			"        base_dn: ou=people,dc=example,dc=org\n" +
			"        user_filter: (&(objectClass=inetOrgPerson)(uid={username}))\n"
		if !strings.Contains(chain, search) {
			t.Fatal("ldapChainYAML changed: directBind cannot replace the search settings")
		}
		chain = strings.Replace(chain, search, "        user_dn_template: uid={username},ou=people,dc=example,dc=org\n", 1)
	}

	dir := t.TempDir()
	ca := testenv.NewCA(t, "portcullis test CA")
	ca.Issue(t, "localhost", "localhost", "127.0.0.1").WriteFiles(t, dir, "tls")
	yaml := fmt.Sprintf("data_dir: %s\nserver:\n  addr: 127.0.0.1:%d\n", dir, testenv.FreePort(t)) + chain
	cfg, err := config.Parse([]byte(yaml), "", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	logs := &bytes.Buffer{}
	lw := &syncWriter{w: logs}
	logger := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, logger, io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	in := &instance{srv: srv, cfg: cfg, ca: ca, dataDir: dir, realm: srv.RealmURL(), logs: logs, logWriter: lw,
		base:   strings.TrimSuffix(srv.RealmURL(), cfg.Token.Route),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
		srv.Close()
		if t.Failed() {
			t.Logf("portcullis logs:\n%s", in.Logs())
		}
	})
	if err := testenv.WaitTCP(ctx, srv.Addr(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"alice-pw", "bob-pw", "carol-pw", "svc-secret", builderPassword} {
		t.Cleanup(func() {
			if strings.Contains(in.Logs(), pw) {
				t.Errorf("a password appears in the server log")
			}
		})
	}
	return in
}

// tokenStatus asks /token for scope as user and returns the status, the
// actions granted on the scope's repository and the body.
func (in *instance) tokenStatus(t *testing.T, user, pass, scope string) (int, []string, string) {
	t.Helper()
	resp, tr, body := in.getToken(t, "/token", user, pass, url.Values{"service": {in.cfg.Token.Service}, "scope": {scope}})
	var actions []string
	if resp.StatusCode == http.StatusOK {
		for _, a := range decodeJWT(t, tr.Token).Claims.Access {
			actions = append(actions, a.Actions...)
		}
		slices.Sort(actions)
	}
	return resp.StatusCode, actions, string(body)
}

func wantToken(t *testing.T, in *instance, user, pass, scope string, wantStatus int, wantActions ...string) string {
	t.Helper()
	st, actions, body := in.tokenStatus(t, user, pass, scope)
	slices.Sort(wantActions)
	if st != wantStatus || wantStatus == 200 && !slices.Equal(actions, wantActions) {
		t.Fatalf("%s %s: status %d actions %v, want %d %v\n%s", user, scope, st, actions, wantStatus, wantActions, body)
	}
	return body
}

// logLine reports whether one log line holds all of parts.
func logLine(logs string, parts ...string) bool {
	for _, l := range strings.Split(logs, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func startLDAPDirectory(t *testing.T) *testenv.Slapd {
	t.Helper()
	testenv.Integration(t)
	return testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: ldapFixture})
}

// TestLDAPRegistryPush logs directory users in by password and lets their
// groups decide real pushes to a registry.
func TestLDAPRegistryPush(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{})
	reg := in.registry(t, testenv.RegistryV3, false)

	for _, tc := range []struct {
		user, pass, repo string
		ok               bool
	}{
		{"alice", "alice-pw", "team-a/app", true},
		{"alice", "alice-pw", "team-b/app", false},
		{"bob", "bob-pw", "team-b/app", true},
		{"carol", "carol-pw", "shared/base", true},
		{"carol", "carol-pw", "team-b/tools", true},
		{"alice", "alice-pw", "shared/base", false},
		{"builder", builderPassword, "team-b/built", true}, // the directory abstains; the static user grants
		{"alice", "bob-pw", "team-a/app", false},
		{"erin", "erin-pw", "team-a/app", false},
	} {
		_, err := pushRandom(t, in, reg.Host+"/"+tc.repo+":v1", tc.user, tc.pass)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s push %s: %v", tc.user, tc.repo, err)
		case !tc.ok && !isDenied(err):
			t.Errorf("%s push %s: want denied, got %v", tc.user, tc.repo, err)
		}
	}
}

// TestLDAPTokenAnswers checks the token endpoint's answers for directory
// users: grants by group, 401 for every refusal, 503 while the directory
// is down, and recovery without a restart.
func TestLDAPTokenAnswers(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{})

	t.Run("groups drive the grant", func(t *testing.T) {
		wantToken(t, in, "alice", "alice-pw", "repository:team-a/app:pull,push", 200, "pull", "push")
		wantToken(t, in, "alice", "alice-pw", "repository:team-b/app:pull,push", 200)
		wantToken(t, in, "carol", "carol-pw", "repository:shared/x:push", 200, "push")
	})
	t.Run("refusals are 401, never 500", func(t *testing.T) {
		for _, c := range [][2]string{
			{"alice", "bob-pw"},        // wrong password
			{"dave", "dave-pw"},        // locked
			{"erin", "erin-pw"},        // disabled
			{"mallory", "x"},           // unknown to every authenticator
			{"alice)(uid=*", "x"},      // filter injection
			{"*", "alice-pw"},          // wildcard
			{"builder", "alice-pw"},    // the static user, wrong password
			{"alice", builderPassword}, // a password of another backend
		} {
			body := wantToken(t, in, c[0], c[1], "repository:team-a/app:pull", 401)
			if !strings.Contains(body, "UNAUTHORIZED") {
				t.Fatalf("%s: body %s", c[0], body)
			}
		}
	})
	t.Run("account names are the directory's spelling", func(t *testing.T) {
		// The directory binds BOB as bob: the deny rule on account bob
		// must apply whatever the case typed.
		for _, u := range []string{"bob", "BOB", "Bob"} {
			wantToken(t, in, u, "bob-pw", "repository:team-b/frozen:pull,push", 200)
			wantToken(t, in, u, "bob-pw", "repository:team-b/app:push", 200, "push")
			_, tr, _ := in.getToken(t, "/token", u, "bob-pw", url.Values{"service": {in.cfg.Token.Service}})
			if sub := decodeJWT(t, tr.Token).Claims.Sub; sub != "bob" {
				t.Fatalf("login as %s: token subject %q", u, sub)
			}
		}
	})
	t.Run("unknown user goes on to the next authenticator", func(t *testing.T) {
		wantToken(t, in, "builder", builderPassword, "repository:team-b/x:push", 200, "push")
		if !logLine(in.Logs(), "account=builder status=200", "authenticator=local") {
			t.Fatal("grant not logged with the static authenticator as source")
		}
	})

	t.Run("directory down is 503 and no grant", func(t *testing.T) {
		s.Stop()
		for _, c := range [][2]string{{"alice", "alice-pw"}, {"alice", "wrong"}, {"mallory", "x"}, {"builder", builderPassword}} {
			// The directory is the second link and fails by default: the
			// chain stops there, even for a user a later link knows.
			body := wantToken(t, in, c[0], c[1], "repository:team-a/app:pull", 503)
			if !strings.Contains(body, "authentication backend unavailable") || !strings.Contains(body, "UNAVAILABLE") {
				t.Fatalf("%s: body %s", c[0], body)
			}
		}
		logs := in.Logs()
		if !strings.Contains(logs, "ldap server unreachable") || !strings.Contains(logs, s.URL) {
			t.Fatalf("no log line naming the directory server:\n%s", logs)
		}
		if !logLine(logs, "level=ERROR", `msg="token request"`, "status=503", "no LDAP server reachable", s.URL) {
			t.Fatalf("token request failure not logged with its cause:\n%s", logs)
		}
		resp, err := in.client.Get(in.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(m), `portcullis_token_decisions_total{decision="error"} 4`) {
			t.Fatalf("errors not counted in metrics:\n%s", m)
		}
	})
	t.Run("directory back works without restart", func(t *testing.T) {
		s.Start()
		wantToken(t, in, "alice", "alice-pw", "repository:team-a/app:push", 200, "push")
		wantToken(t, in, "alice", "wrong", "repository:team-a/app:push", 401)
	})
}

// TestLDAPOnErrorSkip: with on_error: skip a directory outage lets the
// rest of the chain answer; directory users are then unknown (401), not
// granted.
func TestLDAPOnErrorSkip(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{onError: "skip"})
	s.Stop()
	wantToken(t, in, "builder", builderPassword, "repository:team-b/x:push", 200, "push")
	wantToken(t, in, "alice", "alice-pw", "repository:team-a/x:push", 401)
	if !strings.Contains(in.Logs(), "authenticator failed; trying the next one") {
		t.Fatal("skip not logged")
	}
	s.Start()
	wantToken(t, in, "alice", "alice-pw", "repository:team-a/x:push", 200, "push")
}

// TestLDAPCredentialCache: the verified-credential cache holds directory
// grants (so an outage or a busy CI costs no bind), with its TTL and off
// switches.
func TestLDAPCredentialCache(t *testing.T) {
	s := startLDAPDirectory(t)
	const scope = "repository:team-a/app:push"
	for _, tc := range []struct {
		name     string
		setup    ldapSetup
		cachedOK bool          // the second login succeeds with slapd stopped
		expire   time.Duration // after this, the entry is gone
	}{
		{"global cache on", ldapSetup{cache: "{ttl: 1m}"}, true, 0},
		{"global cache off", ldapSetup{cache: "{enabled: false}"}, false, 0},
		{"backend cache off", ldapSetup{cache: "{ttl: 1m}", ldapExtra: []string{"cache: false"}}, false, 0},
		{"backend ttl", ldapSetup{cache: "{ttl: 1m}", ldapExtra: []string{"cache_ttl: 1s"}}, true, 1500 * time.Millisecond},
		{"global ttl", ldapSetup{cache: "{ttl: 1s}"}, true, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Start()
			in := startLDAPPortcullis(t, s, tc.setup)
			wantToken(t, in, "alice", "alice-pw", scope, 200, "push")
			s.Stop()
			defer s.Start()
			if tc.cachedOK {
				wantToken(t, in, "alice", "alice-pw", scope, 200, "push")
				// Only the exact credentials are cached.
				wantToken(t, in, "alice", "alice-pwx", scope, 503)
			} else {
				wantToken(t, in, "alice", "alice-pw", scope, 503)
			}
			if tc.expire > 0 {
				time.Sleep(tc.expire)
				wantToken(t, in, "alice", "alice-pw", scope, 503)
			}
		})
	}
}

// TestLDAPAppAndRefreshTokens: app tokens and refresh tokens of a
// directory user carry the user's groups and stop working as soon as the
// account is disabled in the directory.
func TestLDAPAppAndRefreshTokens(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{})
	ctx := t.Context()
	appTok, err := apptoken.Create(ctx, in.srv.Store(), "bob", "ci", nil, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	post := func(form url.Values) (int, tokenResponse, string) { t.Helper(); return in.postToken(t, form) }
	st, tr, body := post(url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bob-pw"},
		"service": {in.cfg.Token.Service}, "client_id": {"ci"}, "access_type": {"offline"}, "scope": {"repository:team-b/app:push"}})
	if st != 200 || tr.RefreshToken == "" {
		t.Fatalf("password grant for a directory user: %d %s", st, body)
	}
	refresh := func() (int, []string) {
		t.Helper()
		st, rt, _ := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
			"service": {in.cfg.Token.Service}, "client_id": {"ci"}, "scope": {"repository:team-b/app:push"}})
		var actions []string
		if st == 200 {
			for _, a := range decodeJWT(t, rt.AccessToken).Claims.Access {
				actions = append(actions, a.Actions...)
			}
		}
		return st, actions
	}

	// The groups come from the directory at each use.
	if st, actions := refresh(); st != 200 || !slices.Equal(actions, []string{"push"}) {
		t.Fatalf("refresh: %d %v", st, actions)
	}
	wantToken(t, in, "bob", appTok, "repository:team-b/app:push", 200, "push")
	wantToken(t, in, "bob", appTok, "repository:team-a/app:push", 200)

	s.Modify("dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n")
	if st, _ := refresh(); st != 401 {
		t.Fatalf("refresh of a disabled directory user: %d", st)
	}
	wantToken(t, in, "bob", appTok, "repository:team-b/app:push", 401)

	s.Modify("dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\ndelete: employeeType\n")
	wantToken(t, in, "bob", appTok, "repository:team-b/app:push", 200, "push")

	s.Stop()
	defer s.Start()
	if st, _ := refresh(); st != 503 {
		t.Fatalf("refresh with the directory down: %d", st)
	}
	wantToken(t, in, "bob", appTok, "repository:team-b/app:push", 503)
}

// TestLDAPDirectBindLoginKeepsPassword: without a service account the
// directory's users cannot be looked up again, so a refresh token could
// never be used. docker login must then get no refresh token, so that it
// keeps the password; with one it would drop the password and every push
// and pull after the login would fail.
func TestLDAPDirectBindLoginKeepsPassword(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{directBind: true})
	resp, tr, body := in.getToken(t, "/token", "bob", "bob-pw", url.Values{"service": {in.cfg.Token.Service},
		"account": {"bob"}, "client_id": {"docker"}, "offline_token": {"true"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("direct-bind login: %d %s", resp.StatusCode, body)
	}
	if tr.RefreshToken != "" {
		r, err := in.client.PostForm(in.realm, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
			"client_id": {"docker"}, "service": {in.cfg.Token.Service}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		t.Fatalf("login returned a refresh token, and refreshing it answers %d", r.StatusCode)
	}
	// The OAuth2 password grant (what docker login sends first) asks for
	// one the same way.
	r, err := in.client.PostForm(in.realm, url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bob-pw"},
		"service": {in.cfg.Token.Service}, "client_id": {"docker"}, "access_type": {"offline"}})
	if err != nil {
		t.Fatal(err)
	}
	var pg tokenResponse
	err = json.NewDecoder(r.Body).Decode(&pg)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("password grant for a direct-bind user: %d %v", r.StatusCode, err)
	}
	if pg.RefreshToken != "" {
		t.Fatal("the password grant returned a refresh token to a user who cannot be looked up again")
	}
	// The password keeps working (it is what docker now stores).
	wantToken(t, in, "bob", "bob-pw", "repository:team-b/app:push", 200, "push")
}

// TestLDAPOutageUnderLoad stops and restarts slapd while clients keep
// asking for tokens: every answer is a grant for the right password, 401
// for a wrong one, or 503; never a 500 and never a grant for a wrong
// password. After the restart everything works again.
func TestLDAPOutageUnderLoad(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{})
	const scope = "repository:team-a/app:push"
	type answer struct {
		good   bool
		status int
	}
	answers := make(chan answer, 4096)
	stop := make(chan struct{})
	done := make(chan struct{})
	const workers = 4
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 1000; i++ { // bounded; normally ended by stop
				select {
				case <-stop:
					return
				default:
				}
				good := (i+w)%2 == 0
				pw := "alice-pw"
				if !good {
					pw = "wrong-pw"
				}
				req, _ := http.NewRequest("GET", in.base+"/token?"+url.Values{"service": {in.cfg.Token.Service}, "scope": {scope}}.Encode(), nil)
				req.SetBasicAuth("alice", pw)
				st := -1 // transport error
				if resp, err := in.client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					st = resp.StatusCode
				}
				answers <- answer{good, st}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	s.Stop()
	time.Sleep(500 * time.Millisecond)
	s.Start()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	for range workers {
		<-done
	}
	close(answers)
	counts := map[string]int{}
	for a := range answers {
		key := fmt.Sprintf("good=%v %d", a.good, a.status)
		counts[key]++
		switch {
		case a.status == 503:
		case a.good && a.status == 200, !a.good && a.status == 401:
		default:
			t.Errorf("answer %s", key)
		}
	}
	t.Logf("answers: %v", counts)
	if counts["good=true 200"] == 0 || counts["good=true 503"]+counts["good=false 503"] == 0 {
		t.Fatalf("the run did not see both grants and the outage: %v", counts)
	}
	wantToken(t, in, "alice", "alice-pw", scope, 200, "push")
	wantToken(t, in, "alice", "wrong-pw", scope, 401)
}

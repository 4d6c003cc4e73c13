package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SlapdOptions configure a test directory server.
type SlapdOptions struct {
	// LDIF is the path of the entries to load (the suffix entry first). They
	// are added over LDAP as the root DN, so overlays such as memberof see
	// them and fill in memberOf.
	LDIF string
	// Suffix is the database suffix; default dc=example,dc=org.
	Suffix string
}

// Slapd is a running OpenLDAP server listening on 127.0.0.1 with ldap://
// (StartTLS offered) and ldaps://, using only a temporary directory.
type Slapd struct {
	// URL is ldap://127.0.0.1:PORT and LDAPSURL ldaps://127.0.0.1:PORT.
	URL      string
	LDAPSURL string
	// CAFile is the PEM file of the CA that signed the server certificate
	// (for localhost and 127.0.0.1); WrongCAFile is another CA's.
	CAFile      string
	WrongCAFile string
	// RootDN and RootPassword may change anything in the directory.
	RootDN       string
	RootPassword string
	Suffix       string

	t       testing.TB
	bin     string
	conf    string
	dir     string
	ldapAdr string
	ldapsAd string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *Buffer
}

const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
# ppolicy is loaded for its schema (pwdAccountLockedTime) but not enabled on
# the database, so a locked account still binds and the client has to
# notice the lock itself.
moduleload ppolicy
pidfile @DIR@/slapd.pid
argsfile @DIR@/slapd.args
TLSCACertificateFile @DIR@/ca.crt
TLSCertificateFile @DIR@/server.crt
TLSCertificateKeyFile @DIR@/server.key
sizelimit 500

database mdb
suffix "@SUFFIX@"
rootdn "@ROOTDN@"
rootpw @ROOTPW@
directory @DIR@/db
maxsize 67108864
overlay memberof
access to attrs=userPassword
	by anonymous auth
	by self write
	by * none
access to *
	by users read
	by * none
`

// StartSlapd starts slapd with a fresh database loaded from opts.LDIF and
// stops it when the test ends.
func StartSlapd(t testing.TB, opts SlapdOptions) *Slapd {
	t.Helper()
	bin := Require(t, "slapd", "/usr/sbin/slapd")
	ldapadd := Require(t, "ldapadd", "/usr/bin/ldapadd")
	if opts.Suffix == "" {
		opts.Suffix = "dc=example,dc=org"
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca := NewCA(t, "portcullis test LDAP CA")
	wrong := NewCA(t, "some other CA")
	leaf := ca.Issue(t, "localhost", "localhost", "127.0.0.1")
	leaf.WriteFiles(t, dir, "server")
	s := &Slapd{
		CAFile:       filepath.Join(dir, "ca.crt"),
		WrongCAFile:  filepath.Join(dir, "wrong-ca.crt"),
		RootDN:       "cn=admin," + opts.Suffix,
		RootPassword: "root-secret",
		Suffix:       opts.Suffix,
		t:            t,
		bin:          bin,
		dir:          dir,
		conf:         filepath.Join(dir, "slapd.conf"),
		logs:         &Buffer{},
	}
	if err := os.WriteFile(s.CAFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.WrongCAFile, wrong.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("@DIR@", dir, "@SUFFIX@", opts.Suffix, "@ROOTDN@", s.RootDN, "@ROOTPW@", s.RootPassword).Replace(slapdConf)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	for attempt := 1; ; attempt++ {
		p1, p2 := FreePort(t), FreePort(t)
		s.ldapAdr, s.ldapsAd = Addr(p1), Addr(p2)
		s.URL, s.LDAPSURL = "ldap://"+s.ldapAdr, "ldaps://"+s.ldapsAd
		err := s.start()
		if err == nil {
			break
		}
		if !errors.Is(err, errSlapdExited) || attempt == 3 {
			t.Fatal(err)
		}
	}
	if opts.LDIF != "" {
		s.run(ldapadd, "-f", opts.LDIF)
	}
	return s
}

// Start (re)starts slapd on the same ports with the same data. It is a no-op
// when slapd is running.
func (s *Slapd) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// errSlapdExited: slapd ended before it listened, as it does when another
// process took one of its ports after FreePort chose it.
var errSlapdExited = errors.New("slapd exited before listening")

func (s *Slapd) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.bin, "-f", s.conf, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "0")
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range []string{s.ldapAdr, s.ldapsAd} {
		for {
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				s.cmd, s.done = nil, nil
				return fmt.Errorf("%w on %s (%v)\n%s", errSlapdExited, a, cmd.ProcessState, s.logs.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("slapd did not listen on %s within 30s: %v\n%s", a, err, s.logs.String())
			}
		}
	}
	return nil
}

// Stop stops slapd; the data stays for Start. It is a no-op when slapd is
// not running.
func (s *Slapd) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// Logs returns what slapd printed so far.
func (s *Slapd) Logs() string { return s.logs.String() }

// Modify applies LDIF change records (ldapmodify syntax) as the root DN.
func (s *Slapd) Modify(ldif string) {
	s.t.Helper()
	f := filepath.Join(s.t.TempDir(), "change.ldif")
	if err := os.WriteFile(f, []byte(ldif), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.run(Require(s.t, "ldapmodify", "/usr/bin/ldapmodify"), "-f", f)
}

func (s *Slapd) run(bin string, args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]string{"-x", "-H", s.URL, "-D", s.RootDN, "-w", s.RootPassword}, args...)
	out, err := exec.CommandContext(ctx, bin, all...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

// String describes the server for test logs.
func (s *Slapd) String() string { return fmt.Sprintf("slapd %s %s", s.URL, s.LDAPSURL) }

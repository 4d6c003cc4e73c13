package ldap

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/testenv"
)

// fakeBindServer answers every simple bind with the result code named by
// the bind DN's first RDN value (uid=CODE,...), and nothing else. It
// speaks plain LDAP on 127.0.0.1.
func fakeBindServer(t *testing.T, codes map[string]uint16) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
					p, err := ber.ReadPacket(c)
					if err != nil || len(p.Children) < 2 {
						return
					}
					id, _ := p.Children[0].Value.(int64)
					op := p.Children[1]
					if op.Tag != ldap.ApplicationBindRequest || len(op.Children) < 2 {
						return
					}
					dn, _ := op.Children[1].Value.(string)
					name := strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "uid=")
					code, ok := codes[name]
					if !ok {
						code = ldap.LDAPResultInvalidCredentials
					}
					resp := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
					resp.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
					br := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindResponse, nil, "Bind Response")
					br.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
					br.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
					br.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "fake "+name, "diagnosticMessage"))
					resp.AppendChild(br)
					if _, err := c.Write(resp.Bytes()); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestUserBindResults: a bind the directory refuses for the account's sake
// is a denial (401); a bind the directory could not carry out (its own
// error, its time limit) is a backend error (503), never a "wrong
// password" the user would be told.
func TestUserBindResults(t *testing.T) {
	testenv.Integration(t)
	addr := fakeBindServer(t, map[string]uint16{
		"unwilling":  ldap.LDAPResultUnwillingToPerform,
		"constraint": ldap.LDAPResultConstraintViolation,
		"opserror":   ldap.LDAPResultOperationsError,
		"timelimit":  ldap.LDAPResultTimeLimitExceeded,
		"adminlimit": ldap.LDAPResultAdminLimitExceeded,
		"other":      ldap.LDAPResultOther,
	})
	b := newBackend(t, parseLDAP(t, &testenv.Slapd{}, `
urls: [ldap://`+addr+`]
allow_plaintext: true
user_dn_template: uid={username},ou=people,dc=example,dc=org
dial_timeout: 2s
bind_timeout: 2s
`))
	b.SetBcryptCost(4)
	for _, u := range []string{"wrong", "unwilling", "constraint"} {
		res, err := login(t, b, u, "pw")
		if err != nil || res.Decision != authn.Deny {
			t.Errorf("%s: %+v %v, want a denial", u, res, err)
		}
	}
	for _, u := range []string{"opserror", "timelimit", "adminlimit", "other"} {
		res, err := login(t, b, u, "pw")
		if !errors.Is(err, authn.ErrBackend) || res.Decision != authn.Abstain {
			t.Errorf("%s: %+v %v, want ErrBackend", u, res, err)
		}
	}
	tr, err := b.Lookup(t.Context(), "other", "pw")
	if err == nil || tr.Bind != "failed: Other" {
		t.Errorf("trace %+v, %v", tr, err)
	}
}

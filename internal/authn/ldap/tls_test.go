package ldap

import (
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/authn"
)

func TestTLS(t *testing.T) {
	s := startDirectory(t)
	cases := []struct {
		name  string
		extra []string
		ok    bool
	}{
		{"starttls right CA", []string{"urls: [" + s.URL + "]", "start_tls: true", "ca_file: " + s.CAFile}, true},
		{"starttls wrong CA", []string{"urls: [" + s.URL + "]", "start_tls: true", "ca_file: " + s.WrongCAFile}, false},
		{"ldaps right CA", []string{"urls: [" + s.LDAPSURL + "]", "ca_file: " + s.CAFile}, true},
		{"ldaps wrong CA", []string{"urls: [" + s.LDAPSURL + "]", "ca_file: " + s.WrongCAFile}, false},
		{"ldaps system roots", []string{"urls: [" + s.LDAPSURL + "]"}, false},
		{"ldaps wrong server name", []string{"urls: [" + s.LDAPSURL + "]", "ca_file: " + s.CAFile, "server_name: ldap.example.org"}, false},
		{"ldaps name from server_name", []string{"urls: [" + strings.Replace(s.LDAPSURL, "127.0.0.1", "localhost", 1) + "]", "ca_file: " + s.CAFile, "server_name: localhost"}, true},
		{"ldaps insecure", []string{"urls: [" + s.LDAPSURL + "]", "ca_file: " + s.WrongCAFile, "insecure_skip_verify: true"}, true},
		{"plaintext allowed", []string{"urls: [" + s.URL + "]", "allow_plaintext: true"}, true},
	}
	const common = `
bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
bind_password: svc-secret
base_dn: dc=example,dc=org
user_filter: (uid={username})
dial_timeout: 2s
`
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, parseLDAP(t, s, common, tc.extra...))
			res, err := login(t, b, "alice", "alice-pw")
			if tc.ok {
				if err != nil || res.Decision != authn.Grant {
					t.Fatalf("want grant, got %+v, %v", res, err)
				}
				return
			}
			if err == nil || !errors.Is(err, authn.ErrBackend) || res.Decision == authn.Grant {
				t.Fatalf("want ErrBackend, got %+v, %v", res, err)
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("error does not name the certificate problem: %v", err)
			}
		})
	}
}

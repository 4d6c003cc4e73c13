package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestForwardedClientAddress: behind a trusted proxy the ACL's ip rules
// see the client the proxy names in X-Forwarded-For, in the forms proxies
// write it (some append the client's port), and an entry that names no
// address makes the client unknown (it matches no ip list) rather than
// taking the proxy's own address, which would give every client the
// proxy's rights.
func TestForwardedClientAddress(t *testing.T) {
	in := startPortcullisServer(t, "  trusted_proxies: [127.0.0.1/32]\n", `
acl:
  - match: {ip: [203.0.113.0/24, "2001:db8::/32"], type: repository, name: "outside/*"}
    actions: [pull]
  - match: {ip: [127.0.0.0/8], type: repository, name: "proxyhost/*"}
    actions: [pull]
`)
	cases := []struct {
		name    string
		xff     []string
		granted string // the repository granted, "" for none
	}{
		{"no header: the proxy host itself", nil, "proxyhost/x"},
		{"address", []string{"203.0.113.5"}, "outside/x"},
		{"right-most untrusted entry", []string{"198.51.100.1, 203.0.113.5"}, "outside/x"},
		{"several headers", []string{"198.51.100.1", "203.0.113.5, 127.0.0.1"}, "outside/x"},
		{"IPv4 with port", []string{"203.0.113.5:4711"}, "outside/x"},
		{"IPv6 with port", []string{"[2001:db8::7]:4711"}, "outside/x"},
		{"IPv6", []string{"2001:db8::7"}, "outside/x"},
		{"not an address", []string{"unknown"}, ""},
		{"empty entry", []string{"203.0.113.5, "}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"service": {"registry"}, "scope": {"repository:outside/x:pull repository:proxyhost/x:pull"}}
			req, _ := http.NewRequest("GET", in.base+"/token?"+q.Encode(), nil)
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			resp, err := in.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tr tokenResponse
			if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, %v", resp.StatusCode, err)
			}
			var got []string
			for _, a := range decodeJWT(t, tr.Token).Claims.Access {
				got = append(got, a.Name)
			}
			if strings.Join(got, ",") != tc.granted {
				t.Fatalf("X-Forwarded-For %q: granted %v, want %q", tc.xff, got, tc.granted)
			}
		})
	}
}

// TestUnknownClientAddressInSessions: a login whose client address is
// unknown records no address for the session (the list shows "-"), not
// Go's "invalid IP".
func TestUnknownClientAddressInSessions(t *testing.T) {
	in := startPortcullisServer(t, "  trusted_proxies: [127.0.0.1/32]\n", publicACL)
	q := url.Values{"service": {"registry"}, "account": {"alice"}, "client_id": {"docker"}, "offline_token": {"true"}}
	req, _ := http.NewRequest("GET", in.base+"/token?"+q.Encode(), nil)
	req.SetBasicAuth("alice", testUsers["alice"])
	req.Header.Set("X-Forwarded-For", "unknown")
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	ss, err := in.srv.Store().ListRefreshTokens(t.Context(), "alice")
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions %+v %v", ss, err)
	}
	if ss[0].LastUsedAddr != "" {
		t.Fatalf("session address %q, want none", ss[0].LastUsedAddr)
	}
}

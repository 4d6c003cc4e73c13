package server

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
)

// RealmURL is the token endpoint's URL as registries and clients should
// reach it. A loopback listener is named localhost, which the generated
// certificate covers and which go-containerregistry accepts.
func (s *Server) RealmURL() string {
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		host, port, _ = net.SplitHostPort(s.cfg.Server.Addr)
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) || host == "" {
		host = "localhost"
	}
	scheme := "https"
	if s.tlsCert == nil {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, port), s.cfg.Token.Route)
}

// PrintBanner tells the operator what to paste into a registry's
// config.yml and how to log in.
func (s *Server) PrintBanner(w io.Writer) {
	c := s.cfg
	signer := c.Token.Keys[0]
	for _, k := range c.Token.Keys {
		if k.Sign {
			signer = k
		}
	}
	realm := s.RealmURL()
	if s.tlsCert == nil {
		// Plain HTTP is only for behind a TLS-terminating proxy: clients
		// and registries must use the proxy's https URL.
		realm = "https://PROXY_HOST" + c.Token.Route
	}
	jwks := filepath.Join(c.DataDir, "jwks.json")
	jwksNote := fmt.Sprintf(`      # registry 3.x may also use the JWKS beside the bundle; to use the
      # JWKS alone, set token.omit_x5c: true in Portcullis' config first:
      # jwks: %s`, jwks)
	if c.Token.OmitX5C {
		jwksNote = fmt.Sprintf(`      # registry 3.x may use the JWKS instead of the bundle (tokens carry
      # no x5c: token.omit_x5c is on):
      # jwks: %s`, jwks)
	}
	fmt.Fprintf(w, `
Portcullis is ready. Token endpoint: %s

Paste this into your registry's config.yml:

  auth:
    token:
      realm: %s
      service: %s
      issuer: %s
      rootcertbundle: %s
%s

`, s.RealmURL(), realm, c.Token.Service, c.Token.Issuer, signer.Cert, jwksNote)
	if s.tlsCert == nil {
		fmt.Fprint(w, `This server speaks plain HTTP (server.insecure_http): PROXY_HOST above is
the TLS-terminating proxy in front of it, which clients (docker, skopeo,
crane) reach for their tokens and so must trust.

Then: docker login REGISTRY_HOST:PORT
`)
		return
	}
	fmt.Fprintf(w, `Clients (docker, skopeo, crane) fetch their tokens from this server, so they
must trust its TLS certificate %s: add it to the system trust
store, or for docker to /etc/docker/certs.d/REGISTRY_HOST:PORT/ca.crt.

Then: docker login REGISTRY_HOST:PORT
`, c.Server.TLSCert)
}

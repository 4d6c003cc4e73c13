package engine

import (
	"net/url"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		raw            string
		forward, match string
		bad            bool
	}{
		{raw: "/_ping", forward: "/_ping", match: "/_ping"},
		{raw: "/v1.41/containers/json", forward: "/v1.41/containers/json", match: "/containers/json"},
		{raw: "/v1/containers/json", forward: "/v1/containers/json", match: "/containers/json"},
		{raw: "/v1.41.9/info", forward: "/v1.41.9/info", match: "/info"},
		{raw: "/v1.41", forward: "/v1.41", match: "/"},
		{raw: "/version", forward: "/version", match: "/version"},
		{raw: "/vx/containers/json", forward: "/vx/containers/json", match: "/vx/containers/json"},
		{raw: "//v1.41//containers///json", forward: "/v1.41/containers/json", match: "/containers/json"},
		{raw: "/v1.41/v1.41/containers/json", forward: "/v1.41/v1.41/containers/json", match: "/v1.41/containers/json"},
		{raw: "/images/library/busybox/json", forward: "/images/library/busybox/json", match: "/images/library/busybox/json"},
		{raw: "/containers/a%20b/json", forward: "/containers/a b/json", match: "/containers/a b/json"},
		{raw: "/containers/x/..", bad: true},
		{raw: "/v1.41/containers/../images/get", bad: true},
		{raw: "/containers/./json", bad: true},
		{raw: "/containers/x%2F..%2Farchive", bad: true},
		{raw: "/containers/x%2farchive", bad: true},
		{raw: "/containers/%2e%2e/archive", bad: true},
		{raw: "/containers/x%5Carchive", bad: true},
		{raw: "/containers/x%00/json", bad: true},
		{raw: "/containers/x\\y/json", bad: true},
		{raw: "/..", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := url.ParseRequestURI(tt.raw)
			if err != nil {
				if tt.bad {
					return
				}
				t.Fatal(err)
			}
			fwd, match, err := normalizePath(u)
			if tt.bad {
				if err == nil {
					t.Fatalf("normalizePath(%q) = %q, %q; want refusal", tt.raw, fwd, match)
				}
				return
			}
			if err != nil {
				t.Fatalf("normalizePath(%q): %v", tt.raw, err)
			}
			if fwd != tt.forward || match != tt.match {
				t.Fatalf("normalizePath(%q) = %q, %q; want %q, %q", tt.raw, fwd, match, tt.forward, tt.match)
			}
		})
	}
}

// FuzzNormalizePath checks the normaliser's promises on any input: what it
// forwards has no dot segments, no empty segments, no backslash or NUL,
// and the match path is a suffix of it.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/_ping", "/v1.41/containers/json", "//a/../b", "/containers/x%2farchive", "/v1.2./x", "/%2e%2e/", "/a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		fwd, match, err := normalizePath(u)
		if err != nil {
			return
		}
		if !strings.HasPrefix(fwd, "/") || strings.Contains(fwd, "//") || strings.ContainsAny(fwd, "\\\x00") {
			t.Fatalf("forward %q from %q", fwd, raw)
		}
		for _, seg := range strings.Split(fwd, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("dot segment in %q from %q", fwd, raw)
			}
		}
		if match != "/" && !strings.HasSuffix(fwd, match) {
			t.Fatalf("match %q is not a suffix of %q", match, fwd)
		}
		// The forwarded path, re-encoded the way the transport sends it
		// and decoded by the daemon, must come back unchanged.
		back, err := url.PathUnescape((&url.URL{Path: fwd}).EscapedPath())
		if err != nil || back != fwd {
			t.Fatalf("forward %q does not round-trip: %q, %v", fwd, back, err)
		}
	})
}

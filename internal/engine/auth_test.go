package engine

import (
	"net/http"
	"strings"
	"testing"
)

func TestPresentedToken(t *testing.T) {
	tok := "pce_" + strings.Repeat("a", 43)
	tests := []struct {
		name    string
		headers map[string][]string
		want    string // "" means refused
		msg     string
	}{
		{"bearer", map[string][]string{"Authorization": {"Bearer " + tok}}, tok, ""},
		{"bearer lower-case scheme", map[string][]string{"Authorization": {"bearer " + tok}}, tok, ""},
		{"soajs header", map[string][]string{"Token": {tok}}, tok, ""},
		{"both agreeing", map[string][]string{"Authorization": {"Bearer " + tok}, "Token": {tok}}, tok, ""},
		{"both disagreeing", map[string][]string{"Authorization": {"Bearer " + tok}, "Token": {tok + "x"}}, "", "disagree"},
		{"two authorization headers", map[string][]string{"Authorization": {"Bearer " + tok, "Bearer " + tok}}, "", "more than one"},
		{"two token headers", map[string][]string{"Token": {tok, tok}}, "", "more than one"},
		{"basic scheme", map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, "", "Bearer"},
		{"bearer without token", map[string][]string{"Authorization": {"Bearer "}}, "", "Bearer"},
		{"empty token header", map[string][]string{"Token": {"  "}}, "", "missing token"},
		{"none", map[string][]string{}, "", "missing token"},
		{"too long", map[string][]string{"Token": {strings.Repeat("x", maxTokenLen+1)}}, "", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, herr := presentedToken(http.Header(tt.headers))
			if tt.want != "" {
				if herr != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, herr, tt.want)
				}
				return
			}
			if herr == nil {
				t.Fatalf("accepted %q", got)
			}
			if herr.Status != http.StatusUnauthorized || !strings.Contains(herr.Msg, tt.msg) {
				t.Fatalf("refusal %d %q, want 401 mentioning %q", herr.Status, herr.Msg, tt.msg)
			}
		})
	}
}

// FuzzPresentedToken checks that any pair of token headers either yields
// one token that appears in them, bounded, or a 401.
func FuzzPresentedToken(f *testing.F) {
	f.Add("Bearer pce_abc", "")
	f.Add("", "pce_abc")
	f.Add("Bearer x", "y")
	f.Add("bearer  spaced  ", "spaced")
	f.Fuzz(func(t *testing.T, authz, soajs string) {
		h := http.Header{}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		if soajs != "" {
			h.Set("Token", soajs)
		}
		got, herr := presentedToken(h)
		if herr != nil {
			if herr.Status != http.StatusUnauthorized || got != "" {
				t.Fatalf("refusal %d with token %q", herr.Status, got)
			}
			return
		}
		if got == "" || len(got) > maxTokenLen || (!strings.Contains(authz, got) && !strings.Contains(soajs, got)) {
			t.Fatalf("token %q from %q / %q", got, authz, soajs)
		}
	})
}

package keys

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestJWKS(t *testing.T) {
	t.Parallel()
	es, rs, ed, hs := genKey(t, "ES256"), genKey(t, "RS256"), genKey(t, "EdDSA"), genKey(t, "HS256")
	set, err := NewSet([]*Key{es, rs, ed, hs}, 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := set.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 3 {
		t.Fatalf("%d keys published, want 3 (no HS key): %s", len(raw.Keys), doc)
	}
	want := map[string]string{es.KID: "ES256", rs.KID: "RS256", ed.KID: "EdDSA"}
	for _, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %v carries private member %q", k["kid"], private)
			}
		}
		kid, _ := k["kid"].(string)
		if want[kid] == "" || k["alg"] != want[kid] || k["use"] != "sig" {
			t.Errorf("key %v", k)
		}
		if x5c, _ := k["x5c"].([]any); len(x5c) != 1 {
			t.Errorf("key %s: x5c %v", kid, k["x5c"])
		}
		if k["kty"] == "oct" {
			t.Errorf("symmetric key published")
		}
	}
	if strings.Contains(string(doc), hs.KID) {
		t.Error("HS key id appears in the JWKS")
	}
	// The registry parses it with go-jose; every key must come back public
	// and equal to ours.
	var parsed jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatal(err)
	}
	for _, jk := range parsed.Keys {
		k := set.byKID(jk.KeyID)
		if !jk.IsPublic() || k == nil || !publicKeysEqual(k.Public, jk.Key) {
			t.Errorf("JWKS key %s does not round-trip", jk.KeyID)
		}
	}
}

func TestJWKSOnlyHMACIsEmptyList(t *testing.T) {
	t.Parallel()
	set, err := NewSet([]*Key{genKey(t, "HS256")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := set.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != `{"keys":[]}` {
		t.Fatalf("JWKS %s", doc)
	}
}

func TestNewSetErrors(t *testing.T) {
	t.Parallel()
	a := genKey(t, "ES256")
	pubOnly := &Key{Alg: a.Alg, KID: "pub", Public: a.Public}
	tests := []struct {
		name    string
		keys    []*Key
		signer  int
		wantErr string
	}{
		{"empty", nil, 0, "no keys"},
		{"index", []*Key{a}, 1, "out of range"},
		{"negative", []*Key{a}, -1, "out of range"},
		{"duplicate", []*Key{a, a}, 0, "same key"},
		{"nil", []*Key{a, nil}, 0, "is nil"},
		{"public signer", []*Key{a, pubOnly}, 1, "no private part"},
	}
	for _, tt := range tests {
		if _, err := NewSet(tt.keys, tt.signer); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	s, err := NewSet([]*Key{a, pubOnly}, 0)
	if err != nil || s.Signer != a || len(s.All) != 2 {
		t.Fatalf("valid set: %v", err)
	}
}

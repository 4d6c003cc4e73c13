package acl

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes rules the way the configuration loader does.
func decodeStrict(t testing.TB, src string) ([]Rule, error) {
	t.Helper()
	var rules []Rule
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&rules)
	return rules, err
}

func TestYAMLStrict(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"misspelt match key", "- match: {acount: alice}\n  actions: [pull]\n", "field acount not found"},
		{"misspelt rule key", "- match: {account: alice}\n  action: [pull]\n", "field action not found"},
		{"actions not a list", "- actions: pull\n", "cannot unmarshal"},
		{"ip not a list", "- match: {ip: 10.0.0.0/8}\n  actions: [pull]\n", "cannot unmarshal"},
		{"anonymous not a bool", "- match: {anonymous: maybe}\n  actions: [pull]\n", "cannot unmarshal"},
		{"labels not a map of lists", "- match: {labels: {team: {x: y}}}\n  actions: [pull]\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeStrict(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("decode error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestYAMLDecode(t *testing.T) {
	src := `
- match: {admin: true}
  actions: ["*"]
  comment: admins
- match:
    anonymous: false
    account: "/ci-.*/"
    type: repository
    name: "${account}/**"
    service: registry
    ip: [10.0.0.0/8, "::1"]
    labels:
      team: [dev, "ops-*"]
  actions: [pull, push]
- match: {name: "secret/**"}
  deny: true
`
	rules, err := decodeStrict(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Match: Match{Admin: ptr(true)}, Actions: []string{"*"}, Comment: "admins"},
		{Match: Match{
			Anonymous: ptr(false), Account: "/ci-.*/", Type: "repository", Name: "${account}/**", Service: "registry",
			IP: []string{"10.0.0.0/8", "::1"}, Labels: map[string][]string{"team": {"dev", "ops-*"}},
		}, Actions: []string{"pull", "push"}},
		{Match: Match{Name: "secret/**"}, Deny: true},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Fatalf("decoded %+v\nwant %+v", rules, want)
	}
	if _, err := New(rules); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLRoundTrip checks that rules printed as YAML (by `acl check`)
// decode strictly to the same rules.
func TestYAMLRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(Default()); err != nil {
		t.Fatal(err)
	}
	got, err := decodeStrict(t, buf.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("round trip changed the rules:\n%s", buf.String())
	}
}

package token

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The hand-written encoders must produce exactly what encoding/json does.
func TestClaimsMarshalMatchesEncodingJSON(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []Claims{
		{},
		{Issuer: "portcullis", Subject: "alice", Audience: "registry", Expiry: 1, NotBefore: -2, IssuedAt: 3, ID: "abc", Access: []Access{}},
		{Issuer: "iss \"quoted\" \\ <tag> & ünïcode \x01", Subject: "", Audience: "a\u2028b", Access: []Access{
			{Type: "repository", Name: "localhost:5000/team/app", Actions: []string{"pull", "push"}},
			{Type: "repository", Class: "plugin", Name: "p", Actions: []string{}},
			{Type: "registry", Name: "catalog", Actions: nil},
		}},
	}
	c, err := NewClaims("portcullis", "bob", "registry", now, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, c)
	for i, c := range tests {
		got, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(c)
		if !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestResponseAppendJSONMatchesEncoder(t *testing.T) {
	for i, r := range []Response{
		{Token: "a.b.c", AccessToken: "a.b.c", ExpiresIn: 300, IssuedAt: "2026-11-22T10:00:00Z"},
		{Token: "x", AccessToken: "x", ExpiresIn: 60, IssuedAt: "t", RefreshToken: "pcrt_abc"},
		{Token: "\"<>&\n", AccessToken: "é", ExpiresIn: -1},
	} {
		var want bytes.Buffer
		_ = json.NewEncoder(&want).Encode(r)
		if got := r.AppendJSON(nil); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want.Bytes())
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"", "\\", "<script>", "\x00\x7f\xff", "\u2028", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

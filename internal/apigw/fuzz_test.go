package apigw

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseAuthorization feeds arbitrary headers to the parser: it must
// never panic, and whatever it accepts must verify only with the key
// that signed it.
func FuzzParseAuthorization(f *testing.F) {
	for _, c := range clientFormats {
		f.Add("Bearer " + c.make("001", seedKey001, testNow.Unix()+10))
	}
	f.Add("Bearer a.b.c")
	f.Add("Bearer ..")
	f.Add("Bearer " + hCg + ".e30=.")
	f.Add("")
	v := &Verifier{Skew: 5 * time.Second, MaxLifetime: 60 * time.Second, Newline: true, Now: func() time.Time { return testNow }}
	f.Fuzz(func(t *testing.T, value string) {
		tok, err := ParseAuthorization(value, 4096)
		if err != nil {
			if tok != nil {
				t.Fatal("token returned with an error")
			}
			return
		}
		if !validKeyID(tok.ID) || len(tok.mac) != macLen {
			t.Fatalf("accepted token with id %q and %d-byte mac", tok.ID, len(tok.mac))
		}
		// A key nobody signed with never verifies.
		if v.Verify(tok, []byte("0000000000000000000000000000000000000000000000000000000000000000")) == nil {
			t.Fatalf("token verified under an unrelated key: %q", value)
		}
		if v.Verify(tok, nil) == nil {
			t.Fatalf("token verified under an empty key: %q", value)
		}
	})
}

// FuzzParseKeyFile checks that no keys file panics the parser and that
// every key it returns is usable.
func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte("#keyid=hex(key)\nkey001=" + seedKey001 + "\n"))
	f.Add([]byte(`kapi_id="003";kapi_key="` + seedKey002 + `";kapi_groups="stats,watcher,spender,admin";eval ugroups_${kapi_id}=${kapi_groups};eval ukey_${kapi_id}=${kapi_key}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		for id, k := range ks {
			if id != k.ID || !validKeyID(id) || !validSecret(string(k.Secret)) {
				t.Fatalf("unusable key %q accepted", id)
			}
		}
	})
}

// FuzzParseAPIProperties checks that every action returned is one path
// segment with at least one group.
func FuzzParseAPIProperties(f *testing.F) {
	f.Add([]byte("# Watcher can:\naction_getbestblockhash=watcher\naction_spend=spender\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		acts, err := ParseAPIProperties(data)
		if err != nil {
			return
		}
		for a, gs := range acts {
			if a == "" || strings.ContainsAny(a, "/ \t") || len(gs) == 0 {
				t.Fatalf("action %q with groups %q accepted", a, gs)
			}
		}
	})
}

package apigw

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/gwserver"
)

func TestParseKeyFile(t *testing.T) {
	data := "#keyid=hex(key)\n\nkey001=" + seedKey001 + "\n" +
		`kapi_id="003";kapi_key="` + seedKey002 + `";kapi_groups="stats,watcher,spender,admin";eval ugroups_${kapi_id}=${kapi_groups};eval ukey_${kapi_id}=${kapi_key}` + "\n" +
		"kapi_id='x-1';kapi_key=" + strings.Repeat("ab", 32) + ";kapi_groups=\n"
	ks, err := ParseKeyFile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 3 || string(ks["001"].Secret) != seedKey001 || len(ks["001"].Groups) != 0 {
		t.Fatalf("keys: %+v", ks)
	}
	if k := ks["003"]; string(k.Secret) != seedKey002 || !reflect.DeepEqual(k.Groups, []string{"stats", "watcher", "spender", "admin"}) {
		t.Fatalf("key 003: %+v", k)
	}
	if !ks["003"].InGroup("admin") || ks["003"].InGroup("adm") || ks["003"].InGroup("notadmin") {
		t.Fatal("groups must match exactly")
	}
	if _, ok := ks["x-1"]; !ok {
		t.Fatal("single-quoted id not read")
	}
}

func TestParseKeyFileErrors(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"key001=nothex\n", "line 1: key \"001\": secret must be"},
		{"key001=" + seedKey001 + "\nkey001=" + seedKey002 + "\n", "line 2: key id \"001\" appears twice"},
		{"001=" + seedKey001 + "\n", "line 1: expected keyID=HEX"},
		{"key=" + seedKey001 + "\n", "line 1: expected keyID=HEX"},
		{`kapi_id="a b";kapi_key="` + seedKey001 + `"` + "\n", "line 1: kapi_id"},
		{`kapi_id="004";kapi_groups="x"` + "\n", "line 1: key \"004\": kapi_key"},
		{"key001=" + seedKey001[:31] + "\n", "secret must be"},
	} {
		_, err := ParseKeyFile([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.data, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), seedKey001[:16]) {
			t.Errorf("error shows a key: %v", err)
		}
	}
}

func TestParseAPIProperties(t *testing.T) {
	acts, err := ParseAPIProperties([]byte("# c\naction_getbestblockhash=watcher\naction_spend=spender\n\naction_both=a,b\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"getbestblockhash": {"watcher"}, "spend": {"spender"}, "both": {"a", "b"}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("got %v", acts)
	}
	for _, bad := range []string{"getbestblockhash=watcher\n", "action_=x\n", "action_spend=\n", "action_a/b=x\n"} {
		if _, err := ParseAPIProperties([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRouteMatching(t *testing.T) {
	rs := []*route{{prefix: "/v0/admin"}, {prefix: "/v0"}, {prefix: "/"}}
	for p, want := range map[string]string{
		"/v0/admin/x": "/v0/admin", "/v0/admin": "/v0/admin", "/v0/administrator": "/v0",
		"/v0": "/v0", "/v0/x": "/v0", "/v0x": "/", "/": "/",
	} {
		if got := match(rs, p); got == nil || got.prefix != want {
			t.Errorf("%s: got %v, want %s", p, got, want)
		}
	}
	if match(rs[:2], "/other") != nil {
		t.Error("/other matched without a / route")
	}
	r := &route{prefix: "/v0"}
	for p, want := range map[string]string{"/v0/spend": "spend", "/v0/spend/x": "spend", "/v0": "", "/v0/": ""} {
		if got := r.action(p); got != want {
			t.Errorf("action(%s) = %q, want %q", p, got, want)
		}
	}
	for p, ok := range map[string]bool{"/a/b": true, "/a/b/": true, "/": true, "/a//b": false, "/a/./b": false, "/a/../b": false, "/a/..": false, "": false, "a": false} {
		if gwserver.CleanPath(p) != ok {
			t.Errorf("gwserver.CleanPath(%q) != %v", p, ok)
		}
	}
}

package token

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    Scope
		wantErr bool
	}{
		{in: "repository:alice/app:pull", want: Scope{Type: "repository", Name: "alice/app", Actions: []string{"pull"}}},
		{in: "repository:alice/app:pull,push", want: Scope{Type: "repository", Name: "alice/app", Actions: []string{"pull", "push"}}},
		{in: "repository:a/b/c/d:pull,pull,push", want: Scope{Type: "repository", Name: "a/b/c/d", Actions: []string{"pull", "push"}}},
		{in: "repository(plugin):vieux/sshfs:pull", want: Scope{Type: "repository", Class: "plugin", Name: "vieux/sshfs", Actions: []string{"pull"}}},
		{in: "registry:catalog:*", want: Scope{Type: "registry", Name: "catalog", Actions: []string{"*"}}},
		{in: "repository:localhost:5000/alice/app:pull", want: Scope{Type: "repository", Name: "localhost:5000/alice/app", Actions: []string{"pull"}}},
		{in: "repository:alice/app:", wantErr: true},
		{in: "repository:alice/app", wantErr: true},
		{in: "repository::pull", wantErr: true},
		{in: ":alice/app:pull", wantErr: true},
		{in: "repo sitory:alice/app:pull", wantErr: true},
		{in: "repository(:a:pull", wantErr: true},
		{in: "repository:a b:pull", wantErr: true},
		{in: "repository:alice/app:pu ll", wantErr: true},
		{in: "repository:" + strings.Repeat("a", 600) + ":pull", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseScope(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseScope(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseScope(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if !tt.wantErr && got.String() == "" {
			t.Errorf("empty String()")
		}
	}
}

func TestParseScopesSpaceSeparatedAndMerged(t *testing.T) {
	got, err := ParseScopes([]string{
		"repository:a/b:pull repository:c/d:push",
		"repository:a/b:push",
		"registry:catalog:*",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Scope{
		{Type: "repository", Name: "a/b", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "c/d", Actions: []string{"push"}},
		{Type: "registry", Name: "catalog", Actions: []string{"*"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	var many []string
	for i := 0; i <= MaxScopes; i++ {
		many = append(many, "repository:r"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+"/"+strings.Repeat("y", i)+":pull")
	}
	if _, err := ParseScopes([]string{strings.Join(many, " ")}); err == nil {
		t.Fatal("more than MaxScopes distinct scopes accepted")
	}
}

func TestParseRequest(t *testing.T) {
	get := func(q string, user, pass string) *http.Request {
		r := httptest.NewRequest("GET", "/token?"+q, nil)
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		return r
	}
	post := func(form url.Values) *http.Request {
		r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	t.Run("get with basic and repeated scopes", func(t *testing.T) {
		req, err := ParseRequest(get("service=registry&scope=repository:a/b:pull&scope=repository:c/d:push+repository:e/f:pull&account=alice&client_id=docker&offline_token=true", "alice", "pw"))
		if err != nil {
			t.Fatal(err)
		}
		if req.Grant != GrantBasic || req.Service != "registry" || len(req.Scopes) != 3 || !req.Offline ||
			req.Username != "alice" || req.Password != "pw" || req.ClientID != "docker" || req.Account != "alice" {
			t.Fatalf("unexpected %+v", req)
		}
	})
	t.Run("anonymous get", func(t *testing.T) {
		req, err := ParseRequest(get("service=registry&scope=repository:a/b:pull", "", ""))
		if err != nil || req.HasBasic {
			t.Fatalf("req=%+v err=%v", req, err)
		}
	})
	t.Run("post password grant", func(t *testing.T) {
		req, err := ParseRequest(post(url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"x"},
			"service": {"registry"}, "client_id": {"containerd"}, "access_type": {"offline"},
			"scope": {"repository:a/b:pull repository:c/d:pull,push"}}))
		if err != nil {
			t.Fatal(err)
		}
		if req.Grant != GrantPassword || req.Username != "bob" || !req.Offline || len(req.Scopes) != 2 {
			t.Fatalf("unexpected %+v", req)
		}
	})
	t.Run("post refresh grant", func(t *testing.T) {
		req, err := ParseRequest(post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"pcrt_x"}, "service": {"registry"}}))
		if err != nil || req.Grant != GrantRefresh || req.RefreshToken != "pcrt_x" {
			t.Fatalf("req=%+v err=%v", req, err)
		}
	})
	bad := map[string]*http.Request{
		"unknown grant":    post(url.Values{"grant_type": {"client_credentials"}}),
		"missing grant":    post(url.Values{"username": {"a"}}),
		"password no user": post(url.Values{"grant_type": {"password"}, "password": {"x"}}),
		"refresh no token": post(url.Values{"grant_type": {"refresh_token"}}),
		"repeated service": get("service=a&service=b", "", ""),
		"bad scope":        get("scope=nonsense", "", ""),
		"long service":     get("service="+strings.Repeat("s", 300), "", ""),
		"wrong method":     httptest.NewRequest("PUT", "/token", nil),
		"json body": func() *http.Request {
			r := post(url.Values{})
			r.Header.Set("Content-Type", "application/json")
			return r
		}(),
		"broken basic auth": func() *http.Request { r := get("", "", ""); r.Header.Set("Authorization", "Basic !!!"); return r }(),
	}
	for name, r := range bad {
		if _, err := ParseRequest(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"repository:a/b:pull", "registry:catalog:*", "repository(plugin):x:pull,push", "repository:h:5000/x:pull", "a:b:c:d", ":::", "x(y):z:*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if sc.Type == "" || sc.Name == "" || len(sc.Actions) == 0 {
			t.Fatalf("accepted incomplete scope %q: %+v", s, sc)
		}
		again, err := ParseScope(sc.String())
		if err != nil || !reflect.DeepEqual(again, sc) {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", s, sc, again, err)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add("GET", "service=registry&scope=repository:a/b:pull&account=alice", "", "Basic YWxpY2U6cHc=")
	f.Add("POST", "", "grant_type=password&username=a&password=b&scope=repository:a/b:pull", "")
	f.Add("POST", "", "grant_type=refresh_token&refresh_token=pcrt_x&client_id=docker", "")
	f.Fuzz(func(t *testing.T, method, query, body, auth string) {
		r, err := http.NewRequest(method, "http://x/token", strings.NewReader(body))
		if err != nil {
			return
		}
		r.URL.RawQuery = query
		if method == "POST" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		req, err := ParseRequest(r)
		if err != nil {
			return
		}
		if len(req.Scopes) > MaxScopes {
			t.Fatalf("too many scopes: %d", len(req.Scopes))
		}
		if req.Grant == GrantRefresh && req.RefreshToken == "" {
			t.Fatal("refresh grant without token")
		}
	})
}

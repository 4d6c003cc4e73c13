package acl

import (
	"net/netip"
	"strconv"
	"testing"
)

func BenchmarkAuthorizeDefault(b *testing.B) {
	a := mustNew(b, Default())
	s := Subject{Account: "alice", IP: netip.MustParseAddr("10.1.2.3"), Service: "registry"}
	r := Request{Type: "repository", Name: "alice/team/app", Actions: []string{"pull", "push"}}
	b.ReportAllocs()
	for b.Loop() {
		if d := a.Authorize(s, r); len(d.Allowed) != 2 {
			b.Fatalf("%+v", d)
		}
	}
}

func BenchmarkAuthorizeDefaultManyUsers(b *testing.B) {
	a := mustNew(b, Default())
	subjects := make([]Subject, 1000)
	reqs := make([]Request, len(subjects))
	for i := range subjects {
		name := "user" + strconv.Itoa(i)
		subjects[i] = Subject{Account: name}
		reqs[i] = Request{Type: "repository", Name: name + "/app", Actions: []string{"pull"}}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if d := a.Authorize(subjects[i], reqs[i]); len(d.Allowed) != 1 {
			b.Fatalf("%+v", d)
		}
		i = (i + 1) % len(subjects)
	}
}

func BenchmarkAuthorizeAdmin(b *testing.B) {
	a := mustNew(b, Default())
	s := Subject{Account: "root", Admin: true}
	r := Request{Type: "registry", Name: "catalog", Actions: []string{"*"}}
	b.ReportAllocs()
	for b.Loop() {
		a.Authorize(s, r)
	}
}

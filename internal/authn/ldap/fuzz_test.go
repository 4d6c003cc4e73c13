package ldap

import (
	"bytes"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

const fuzzFilterTemplate = "(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))"

var fuzzSeeds = []string{
	"alice", "*", "alice)(uid=*", "*)(|(uid=*", `\`, `\2a`, "é", specialUser, "\x00", "\xff\xfe", "a,b", "a=b",
	"#x", " x ", "a+b", `"q"`, "<>;", "(", ")", "a\\", "ü\\ü",
}

// FuzzUserFilter checks that any user name, once templated, leaves the
// filter's structure as the template made it and only ever appears as the
// exact value of the equality assertions that held {username}.
func FuzzUserFilter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	ref, err := ldap.CompileFilter(userFilter(fuzzFilterTemplate, "PLACEHOLDER"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		filter := userFilter(fuzzFilterTemplate, name)
		for i := 0; i < len(filter); i++ {
			if filter[i] >= 0x80 || filter[i] == 0 {
				t.Fatalf("filter %q holds a raw byte %#x", filter, filter[i])
			}
		}
		got, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("name %q gives a filter that does not compile: %q: %v", name, filter, err)
		}
		sameShape(t, ref, got, name)
	})
}

// sameShape walks ref (compiled with PLACEHOLDER) and got side by side: the
// same tags and children everywhere, equal values except where ref holds
// PLACEHOLDER, where got must hold exactly name.
func sameShape(t *testing.T, ref, got *ber.Packet, name string) {
	t.Helper()
	if ref.ClassType != got.ClassType || ref.TagType != got.TagType || ref.Tag != got.Tag || len(ref.Children) != len(got.Children) {
		t.Fatalf("name %q changed the filter structure: %v vs %v", name, ref.Description, got.Description)
	}
	if len(ref.Children) == 0 {
		want := ref.Data.Bytes()
		if bytes.Equal(want, []byte("PLACEHOLDER")) {
			want = []byte(name)
		}
		if !bytes.Equal(got.Data.Bytes(), want) {
			t.Fatalf("name %q: value %q, want %q", name, got.Data.Bytes(), want)
		}
		return
	}
	for i := range ref.Children {
		sameShape(t, ref.Children[i], got.Children[i], name)
	}
}

// FuzzUserDN checks that any valid user name, once templated into a DN,
// is exactly the value of the first RDN and adds no RDN or attribute.
func FuzzUserDN(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	const tmpl = "uid={username},ou=people,dc=example,dc=org"
	f.Fuzz(func(t *testing.T, name string) {
		if !validUsername(name) {
			return // refused before any DN is built
		}
		s := userDN(tmpl, name)
		dn, err := ldap.ParseDN(s)
		if err != nil {
			t.Fatalf("name %q gives a DN that does not parse: %q: %v", name, s, err)
		}
		if len(dn.RDNs) != 4 || len(dn.RDNs[0].Attributes) != 1 {
			t.Fatalf("name %q changed the DN structure: %q", name, s)
		}
		a := dn.RDNs[0].Attributes[0]
		if a.Type != "uid" || a.Value != name {
			t.Fatalf("name %q: first RDN %s=%q", name, a.Type, a.Value)
		}
		if dn.RDNs[1].String() != "ou=people" {
			t.Fatalf("name %q: second RDN %q", name, dn.RDNs[1].String())
		}
	})
}

// FuzzGroupFilter checks the {dn} substitution the same way.
func FuzzGroupFilter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	const tmpl = "(&(objectClass=groupOfNames)(member={dn}))"
	ref, err := ldap.CompileFilter(groupFilter(tmpl, "PLACEHOLDER", ""))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		got, err := ldap.CompileFilter(groupFilter(tmpl, dn, ""))
		if err != nil {
			t.Fatalf("dn %q: %v", dn, err)
		}
		sameShape(t, ref, got, dn)
	})
}

// FuzzLookupFilter checks the account lookup filter (account_attribute
// set) the same way: the name is only ever the account attribute's value.
func FuzzLookupFilter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	b := &Backend{}
	b.cfg.UserFilter = fuzzFilterTemplate
	b.cfg.AccountAttribute = "mail"
	ref, err := ldap.CompileFilter(b.lookupFilter("PLACEHOLDER"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := ldap.CompileFilter(b.lookupFilter(name))
		if err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
		sameShape(t, ref, got, name)
	})
}

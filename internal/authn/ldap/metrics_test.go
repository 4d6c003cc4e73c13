package ldap

import (
	"testing"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig))
	reg := prometheus.NewPedanticRegistry()
	// A second ldap authenticator registers next to the first.
	other := newBackend(t, parseLDAP(t, s, searchConfig))
	other.name, other.descs = "other", newMetricDescs("other")
	reg.MustRegister(b, other)
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	mustDecide(t, b, "alice", "nope", authn.Deny)
	mustDecide(t, b, "mallory", "x", authn.Abstain)
	s.Stop()
	_, err := login(t, b, "alice", "alice-pw")
	s.Start()
	if err == nil {
		t.Fatal("login with slapd stopped succeeded")
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	for key, v := range map[string]float64{
		"portcullis_ldap_logins_total,authenticator=corp,outcome=grant":   1,
		"portcullis_ldap_logins_total,authenticator=corp,outcome=deny":    1,
		"portcullis_ldap_logins_total,authenticator=corp,outcome=abstain": 1,
		"portcullis_ldap_logins_total,authenticator=corp,outcome=error":   1,
		"portcullis_ldap_dial_failures_total,authenticator=corp":          1,
		"portcullis_ldap_logins_total,authenticator=other,outcome=grant":  0,
	} {
		if g, ok := got[key]; !ok || g != v {
			t.Errorf("%s = %v, want %v (all: %v)", key, got[key], v, got)
		}
	}
}

package ldap

import "github.com/prometheus/client_golang/prometheus"

var _ prometheus.Collector = (*Backend)(nil)

// The backend's counters as Prometheus metrics, labelled with the
// authenticator's name. Outages show as errors_total and
// dial_failures_total rising while grants stop.
var (
	descLogins = prometheus.NewDesc("portcullis_ldap_logins_total",
		"LDAP logins by outcome: grant, deny, abstain, error (directory unreachable or refusing; failed user lookups count here too).",
		[]string{"authenticator", "outcome"}, nil)
	descDials = prometheus.NewDesc("portcullis_ldap_dials_total",
		"New connections made to a directory server.", []string{"authenticator"}, nil)
	descDialFailures = prometheus.NewDesc("portcullis_ldap_dial_failures_total",
		"Times no configured directory server could be reached (or the service account was refused).", []string{"authenticator"}, nil)
	descGroupCacheHits = prometheus.NewDesc("portcullis_ldap_group_cache_hits_total",
		"Logins whose groups came from the group cache.", []string{"authenticator"}, nil)
)

// Describe implements prometheus.Collector.
func (b *Backend) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogins, descDials, descDialFailures, descGroupCacheHits} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (b *Backend) Collect(ch chan<- prometheus.Metric) {
	s := b.Stats()
	for outcome, v := range map[string]int64{"grant": s.Grants, "deny": s.Denies, "abstain": s.Abstains, "error": s.Errors} {
		ch <- prometheus.MustNewConstMetric(descLogins, prometheus.CounterValue, float64(v), b.name, outcome)
	}
	ch <- prometheus.MustNewConstMetric(descDials, prometheus.CounterValue, float64(s.Dials), b.name)
	ch <- prometheus.MustNewConstMetric(descDialFailures, prometheus.CounterValue, float64(s.DialFailures), b.name)
	ch <- prometheus.MustNewConstMetric(descGroupCacheHits, prometheus.CounterValue, float64(s.GroupCacheHits), b.name)
}

package ldap

import "github.com/prometheus/client_golang/prometheus"

var _ prometheus.Collector = (*Backend)(nil)

// metricDescs are one backend's metric descriptions. The authenticator's
// name is a constant label, so that several ldap backends can be
// registered side by side.
type metricDescs struct {
	logins, dials, dialFailures, groupCacheHits, binds *prometheus.Desc
}

func newMetricDescs(name string) metricDescs {
	l := prometheus.Labels{"authenticator": name}
	return metricDescs{
		logins: prometheus.NewDesc("portcullis_ldap_logins_total",
			"LDAP logins by outcome: grant, deny, abstain, error (directory unreachable or refusing; failed user lookups count here too).",
			[]string{"outcome"}, l),
		dials: prometheus.NewDesc("portcullis_ldap_dials_total",
			"New connections made to a directory server.", nil, l),
		dialFailures: prometheus.NewDesc("portcullis_ldap_dial_failures_total",
			"Times no configured directory server could be reached (or the service account was refused).", nil, l),
		groupCacheHits: prometheus.NewDesc("portcullis_ldap_group_cache_hits_total",
			"Logins whose groups came from the group cache.", nil, l),
		binds: prometheus.NewDesc("portcullis_ldap_binds_total",
			"Binds sent to the directory, as the service account or as users.", []string{"as"}, l),
	}
}

// Describe implements prometheus.Collector.
func (b *Backend) Describe(ch chan<- *prometheus.Desc) {
	d := b.descs
	for _, x := range []*prometheus.Desc{d.logins, d.dials, d.dialFailures, d.groupCacheHits, d.binds} {
		ch <- x
	}
}

// Collect implements prometheus.Collector. Outages show as the error
// outcome and dial failures rising while grants stop.
func (b *Backend) Collect(ch chan<- prometheus.Metric) {
	s, d := b.Stats(), b.descs
	for outcome, v := range map[string]int64{"grant": s.Grants, "deny": s.Denies, "abstain": s.Abstains, "error": s.Errors} {
		ch <- prometheus.MustNewConstMetric(d.logins, prometheus.CounterValue, float64(v), outcome)
	}
	ch <- prometheus.MustNewConstMetric(d.dials, prometheus.CounterValue, float64(s.Dials))
	ch <- prometheus.MustNewConstMetric(d.dialFailures, prometheus.CounterValue, float64(s.DialFailures))
	ch <- prometheus.MustNewConstMetric(d.groupCacheHits, prometheus.CounterValue, float64(s.GroupCacheHits))
	ch <- prometheus.MustNewConstMetric(d.binds, prometheus.CounterValue, float64(s.ServiceBinds), "service")
	ch <- prometheus.MustNewConstMetric(d.binds, prometheus.CounterValue, float64(s.UserBinds), "user")
}

package token

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the token service's Prometheus collectors.
type Metrics struct {
	requests  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// NewMetrics registers the collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "portcullis", Subsystem: "token", Name: "requests_total",
			Help: "Token requests by grant type and HTTP status.",
		}, []string{"grant", "status"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "portcullis", Subsystem: "token", Name: "decisions_total",
			Help: "Token request outcomes: login, granted, partial, denied, unauthenticated, bad_request, error.",
		}, []string{"decision"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "portcullis", Subsystem: "token", Name: "request_duration_seconds",
			Help:    "Token request latency.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"grant"}),
	}
	reg.MustRegister(m.requests, m.decisions, m.latency)
	return m
}

func (m *Metrics) observe(o *outcome, status int, d time.Duration) {
	g := string(o.grant)
	if g == "" {
		g = "unknown"
	}
	m.requests.WithLabelValues(g, strconv.Itoa(status)).Inc()
	m.decisions.WithLabelValues(o.decision).Inc()
	m.latency.WithLabelValues(g).Observe(d.Seconds())
}

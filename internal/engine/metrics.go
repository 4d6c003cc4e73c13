package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the gateway's Prometheus series. Token names are chosen by
// administrators, so the token label stays small; unauthenticated
// requests are counted under "-".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	upgraded prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_engine_requests_total",
			Help: "Engine gateway requests by token and outcome (allowed, unauthorized, forbidden, bad_request, too_large, unavailable, upstream_error).",
		}, []string{"token", "outcome"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_engine_request_duration_seconds",
			Help:    "Engine gateway request duration by outcome (streams and upgrades last as long as they are open).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"outcome"}),
		upgraded: f.NewGauge(prometheus.GaugeOpts{
			Name: "portcullis_engine_upgraded_connections",
			Help: "Hijacked connections (exec, attach, BuildKit) open through the engine gateway.",
		}),
	}
}

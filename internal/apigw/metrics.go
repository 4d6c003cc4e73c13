package apigw

import (
	"errors"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are per route and key. Key labels only ever hold ids of keys
// that exist (never an id taken from an unverified token), so their
// number is bounded by the configuration.
type metrics struct {
	requests *prometheus.CounterVec   // route, key, code
	refusals *prometheus.CounterVec   // route, key, reason
	upstream *prometheus.HistogramVec // route, key

	counters  sync.Map // seriesKey -> prometheus.Counter of requests
	observers sync.Map // seriesKey (code 0) -> prometheus.Observer of upstream
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "portcullis", Subsystem: "apigw", Name: "requests_total",
			Help: "Requests to the API-key gateway by route, key id and status code.",
		}, []string{"route", "key", "code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "portcullis", Subsystem: "apigw", Name: "refusals_total",
			Help: "Requests the API-key gateway refused or could not forward, by route, key id (empty before the token is verified) and reason.",
		}, []string{"route", "key", "reason"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "portcullis", Subsystem: "apigw", Name: "upstream_seconds",
			Help:    "Time from receiving a request to the upstream's response headers, by route and key id.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "key"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.refusals, err = register(reg, m.refusals)
	if err != nil {
		return nil, err
	}
	m.upstream, err = register(reg, m.upstream)
	return m, err
}

// register registers c, or reuses the collector already registered under
// the same name (a second gateway in the same process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(ri *reqInfo, status int) {
	route, key := ri.routeLabel(), ri.keyLabel()
	m.requestCounter(route, key, status).Inc()
	if ri.reason != "" {
		m.refusals.WithLabelValues(route, key, string(ri.reason)).Inc()
	}
	if ri.upstream > 0 {
		m.upstreamObserver(route, key).Observe(ri.upstream.Seconds())
	}
}

// The series of the answered requests are looked up once per route, key
// and status and kept: WithLabelValues hashes and locks on every call.
// They are as bounded as the labels (routes, existing keys, codes).
type seriesKey struct {
	route, key string
	code       int
}

func (m *metrics) requestCounter(route, key string, code int) prometheus.Counter {
	sk := seriesKey{route, key, code}
	if c, ok := m.counters.Load(sk); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(route, key, strconv.Itoa(code))
	m.counters.Store(sk, c)
	return c
}

func (m *metrics) upstreamObserver(route, key string) prometheus.Observer {
	sk := seriesKey{route: route, key: key}
	if o, ok := m.observers.Load(sk); ok {
		return o.(prometheus.Observer)
	}
	o := m.upstream.WithLabelValues(route, key)
	m.observers.Store(sk, o)
	return o
}

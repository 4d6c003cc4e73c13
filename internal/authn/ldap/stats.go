package ldap

import "sync/atomic"

// Stats counts what the backend did since it started, for metrics.
type Stats struct {
	Grants, Denies, Abstains, Errors int64
	// Dials counts new connections; DialFailures connections that could not
	// be made to any server.
	Dials, DialFailures int64
	// GroupCacheHits counts logins whose groups came from the cache.
	GroupCacheHits int64
	// ServiceBinds and UserBinds count binds sent to the directory.
	ServiceBinds, UserBinds int64
}

type counters struct {
	grants, denies, abstains, errors atomic.Int64
	dials, dialFailures              atomic.Int64
	groupCacheHits                   atomic.Int64
	serviceBinds, userBinds          atomic.Int64
}

// Stats returns a snapshot of the backend's counters.
func (b *Backend) Stats() Stats {
	c := &b.counters
	return Stats{
		Grants: c.grants.Load(), Denies: c.denies.Load(), Abstains: c.abstains.Load(), Errors: c.errors.Load(),
		Dials: c.dials.Load(), DialFailures: c.dialFailures.Load(), GroupCacheHits: c.groupCacheHits.Load(),
		ServiceBinds: c.serviceBinds.Load(), UserBinds: c.userBinds.Load(),
	}
}

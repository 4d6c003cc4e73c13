package authn

import (
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// CostPadder makes a password check against a user's hash cost as much as
// one check at the configured bcrypt cost, which is what a name nobody
// knows costs (the dummy compare). Hashes are not always made at that
// cost: `htpasswd -B` makes cost-5 hashes, a static user's hash is
// whatever was pasted into the configuration, and database users keep the
// cost they were created with when authn.bcrypt_cost is raised. Without
// padding, a wrong password for such a user is refused many times faster
// than an unknown name, and one login tells who is a user.
//
// bcrypt's work doubles with each cost step, so after a compare at cost c
// below the target C, compares against dummy hashes of costs c, c+1, …,
// C-1 add 2^c + … + 2^(C-1) = 2^C - 2^c: the total is one compare at C.
// Hashes above the target cannot be made cheaper; keep them at
// authn.bcrypt_cost.
type CostPadder struct {
	target int
	mu     sync.Mutex
	// dummies[cost] is a hash of a throwaway password, made on first use.
	dummies map[int][]byte
}

// NewCostPadder pads up to cost (out-of-range values mean bcrypt's
// default).
func NewCostPadder(cost int) *CostPadder {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		cost = bcrypt.DefaultCost
	}
	return &CostPadder{target: cost, dummies: map[int][]byte{}}
}

// Pad is called after one compare of password against hash (whatever its
// outcome was, when the answer is a refusal); it spends the work that
// compare fell short of the target. A hash that is not bcrypt cost nothing
// to compare, so it is padded by a full compare at the target.
func (p *CostPadder) Pad(hash []byte, password string) {
	if p == nil {
		return
	}
	from, err := bcrypt.Cost(hash)
	if err != nil {
		from = p.target
		_ = bcrypt.CompareHashAndPassword(p.dummy(p.target), []byte(password))
	}
	for c := from; c < p.target; c++ {
		_ = bcrypt.CompareHashAndPassword(p.dummy(c), []byte(password))
	}
}

func (p *CostPadder) dummy(cost int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	h, ok := p.dummies[cost]
	if !ok {
		// Only an invalid cost fails, and cost is within range here.
		h, _ = bcrypt.GenerateFromPassword([]byte("portcullis-padding-dummy"), cost)
		p.dummies[cost] = h
	}
	return h
}

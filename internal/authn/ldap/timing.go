package ldap

import "golang.org/x/crypto/bcrypt"

// A directory answers a wrong password within a millisecond, while a name
// that nobody in the chain knows costs a bcrypt comparison against a dummy
// hash (by the chain, or by a database backend after this one). Left so,
// a failed login would tell in one request whether a name is a directory
// user. Every denial of this backend therefore costs one bcrypt
// comparison too, at the cost the rest of the chain uses.

// SetBcryptCost sets the cost of the dummy hash compared against on
// denials (default bcrypt.DefaultCost, authn.bcrypt_cost's default). It
// must be called before the backend serves requests.
func (b *Backend) SetBcryptCost(cost int) { b.dummyCost = cost }

// equalizeDenial compares password against a dummy hash: a denial then
// costs what an unknown name costs.
func (b *Backend) equalizeDenial(password string) {
	b.dummyOnce.Do(func() {
		cost := b.dummyCost
		if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
			cost = bcrypt.DefaultCost
		}
		h, err := bcrypt.GenerateFromPassword([]byte("portcullis-ldap-dummy-password"), cost)
		if err != nil {
			h, _ = bcrypt.GenerateFromPassword([]byte("portcullis-ldap-dummy-password"), bcrypt.DefaultCost)
		}
		b.dummy = h
	})
	_ = bcrypt.CompareHashAndPassword(b.dummy, []byte(password))
}

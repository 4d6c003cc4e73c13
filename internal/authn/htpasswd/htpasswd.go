// Package htpasswd authenticates users from an Apache htpasswd file in the
// Docker registry's own format (bcrypt only), reloaded when it changes.
package htpasswd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/filewatch"
	"golang.org/x/crypto/bcrypt"
)

// Backend authenticates users listed in an htpasswd file.
type Backend struct {
	name   string
	path   string
	admins []string
	logger *slog.Logger

	mu         sync.RWMutex
	users      map[string]entry
	sum        [32]byte
	invalidate func(string)
	// pad makes a wrong password cost what an unknown name costs; cost is
	// its target, authn.bcrypt_cost (0 until set).
	pad  *authn.CostPadder
	cost int
	// loads counts the loads that changed something; an entry carries the
	// count of the load that last changed it.
	loads uint64
}

// entry is one user's hash and the load that set it.
type entry struct {
	hash    []byte
	version uint64
}

// versionPrefix marks Identity.CredentialID of an htpasswd user: the
// version of the entry whose hash was checked. Revalidate compares it, so
// a grant made with a hash that has since been replaced is not taken from
// the cache, even when the login that made it finished (and was cached)
// after the reload had already dropped the user's entries.
const versionPrefix = "htpasswd-version:"

var (
	_ authn.Authenticator = (*Backend)(nil)
	_ authn.Cacheable     = (*Backend)(nil)
	_ authn.UserLookup    = (*Backend)(nil)
	_ authn.Watcher       = (*Backend)(nil)
)

// New loads path. A missing file is an empty user list (the file may be
// created later, and is picked up by Reload); a malformed one is an error.
func New(name, path string, admins []string, logger *slog.Logger) (*Backend, error) {
	b := &Backend{name: name, path: path, admins: admins, logger: logger, users: map[string]entry{}}
	if err := b.Reload(); err != nil {
		return nil, err
	}
	return b, nil
}

// Name implements authn.Authenticator.
func (b *Backend) Name() string { return b.name }

// SetBcryptCost sets authn.bcrypt_cost: a wrong password for a user whose
// hash is cheaper (`htpasswd -B` makes cost 5) is padded up to it, as an
// unknown name costs a compare at it. Dearer hashes are warned about, now
// and at each load. It must be called before the backend serves requests.
func (b *Backend) SetBcryptCost(cost int) {
	b.pad = authn.NewCostPadder(cost)
	b.mu.Lock()
	b.cost = cost
	users := b.users
	b.mu.Unlock()
	b.warnDear(users, cost)
}

// warnDear logs users whose hashes cost more than cost: padding cannot
// make their refusals cheaper, so a wrong password for them takes longer
// than an unknown name.
func (b *Backend) warnDear(users map[string]entry, cost int) {
	if cost <= 0 {
		return
	}
	n, most := 0, 0
	for _, e := range users {
		if c, err := bcrypt.Cost(e.hash); err == nil && c > cost {
			n++
			most = max(most, c)
		}
	}
	if n > 0 {
		b.logger.Warn("password hashes dearer than authn.bcrypt_cost: a wrong password for these users takes longer than an unknown name, which tells who is a user; rehash them at authn.bcrypt_cost or raise it",
			"authenticator", b.name, "path", b.path, "users", n, "highest_cost", most, "bcrypt_cost", cost)
	}
}

// SetInvalidator implements authn.Watcher.
func (b *Backend) SetInvalidator(f func(string)) {
	b.mu.Lock()
	b.invalidate = f
	b.mu.Unlock()
}

// Parse reads htpasswd content: one `user:bcrypt-hash` per line; blank
// lines and # comments are ignored. Other hash schemes (MD5, SHA1, crypt)
// are refused, as the registry refuses them.
func Parse(data []byte) (map[string][]byte, error) {
	users := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("line %d: want user:hash", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d (user %s): only bcrypt hashes are supported (use htpasswd -B)", n, user)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("line %d: user %s listed twice", n, user)
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return users, nil
}

// Reload re-reads the file if its content changed and drops cached
// credentials of users whose entry changed.
func (b *Backend) Reload() error {
	data, err := os.ReadFile(b.path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("htpasswd %s: %w", b.path, err)
	}
	sum := sha256.Sum256(data)
	b.mu.RLock()
	same := sum == b.sum && b.users != nil
	b.mu.RUnlock()
	if same && len(data) > 0 {
		return nil
	}
	users, err := Parse(data)
	if err != nil {
		return fmt.Errorf("htpasswd %s: %w", b.path, err)
	}
	b.mu.Lock()
	old := b.users
	b.loads++
	next := make(map[string]entry, len(users))
	for u, h := range users {
		if e, ok := old[u]; ok && bytes.Equal(e.hash, h) {
			next[u] = e
		} else {
			next[u] = entry{hash: h, version: b.loads}
		}
	}
	b.users, b.sum = next, sum
	inv := b.invalidate
	cost := b.cost
	b.mu.Unlock()
	b.warnDear(next, cost)
	changed := 0
	for u, e := range old {
		if ne, ok := next[u]; !ok || ne.version != e.version {
			changed++
			if inv != nil {
				inv(u)
			}
		}
	}
	if len(old) > 0 || len(users) > 0 {
		b.logger.Info("htpasswd loaded", "path", b.path, "users", len(users), "changed_or_removed", changed)
	}
	return nil
}

// Watch reloads the file when its modification time or size changes,
// until ctx ends. A change is loaded once the file has stayed the same for
// one check: htpasswd(1) and editors rewrite the file in place, and a
// file caught truncated or half written would drop users (and revoke
// their sessions) until the next check.
func (b *Backend) Watch(ctx context.Context, every time.Duration) {
	var loaded filewatch.Version
	known := false // the first check loads whatever is there, once settled
	var settle filewatch.Settle
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v := filewatch.Stat(b.path)
		if !settle.Ready(!known || !v.Equal(loaded), v) {
			continue
		}
		loaded, known = v, true
		if err := b.Reload(); err != nil {
			b.logger.Error("htpasswd reload failed; keeping the previous users", "err", err)
		}
	}
}

// Authenticate implements authn.Authenticator.
func (b *Backend) Authenticate(_ context.Context, c authn.Credentials) (authn.Result, error) {
	b.mu.RLock()
	e, ok := b.users[c.Username]
	b.mu.RUnlock()
	if !ok {
		return authn.Result{Decision: authn.Abstain}, nil
	}
	if err := bcrypt.CompareHashAndPassword(e.hash, []byte(c.Password)); err != nil {
		b.pad.Pad(e.hash, c.Password)
		return authn.Result{Decision: authn.Deny, Reason: "wrong password", Hashed: true}, nil
	}
	return authn.Result{Decision: authn.Grant, Identity: b.identity(c.Username, e), Hashed: true}, nil
}

func (b *Backend) identity(user string, e entry) *authn.Identity {
	return &authn.Identity{Account: user, Admin: slices.Contains(b.admins, user), Source: b.name, Kind: authn.KindPassword,
		CredentialID: versionPrefix + strconv.FormatUint(e.version, 10)}
}

// Revalidate implements authn.Cacheable: the user must still be listed
// with the hash the grant was checked against.
func (b *Backend) Revalidate(_ context.Context, id *authn.Identity) (bool, error) {
	b.mu.RLock()
	e, ok := b.users[id.Account]
	b.mu.RUnlock()
	return ok && id.CredentialID == versionPrefix+strconv.FormatUint(e.version, 10), nil
}

// LookupUser implements authn.UserLookup.
func (b *Backend) LookupUser(_ context.Context, user string) (*authn.Identity, bool, error) {
	b.mu.RLock()
	e, ok := b.users[user]
	b.mu.RUnlock()
	if !ok {
		return nil, false, nil
	}
	return b.identity(user, e), true, nil
}

package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// parallel runs fn n times at once and returns the errors in order.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startGate
			errs[i] = fn(i)
		})
	}
	close(startGate)
	wg.Wait()
	return errs
}

func countErrs(t *testing.T, errs []error, want error) (ok, matched int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			matched++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, matched
}

var concurrencyCases = []testCase{
	{"ParallelCreateUsers", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		errs := parallel(20, func(i int) error {
			return s.CreateUser(c, store.User{Name: fmt.Sprint("user", i), PasswordHash: []byte("h")})
		})
		if ok, _ := countErrs(t, errs, nil); ok != 20 {
			t.Errorf("%d of 20 distinct users created", ok)
		}
		errs = parallel(20, func(i int) error {
			return s.CreateUser(c, store.User{Name: "same", PasswordHash: fmt.Appendf(nil, "h%d", i)})
		})
		if ok, dup := countErrs(t, errs, store.ErrAlreadyExists); ok != 1 || dup != 19 {
			t.Errorf("same name: %d created, %d ErrAlreadyExists; want 1 and 19", ok, dup)
		}
		list, err := s.ListUsers(c)
		mustNil(t, err)
		if len(list) != 21 {
			t.Errorf("%d users stored, want 21", len(list))
		}
	}},
	{"AppTokenCapRace", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		const max = 5
		errs := parallel(20, func(i int) error {
			return s.CreateAppToken(c, store.AppToken{User: "racer", Name: fmt.Sprint("t", i), Hash: hash(fmt.Sprint("race", i))}, max)
		})
		ok, limited := countErrs(t, errs, store.ErrLimitReached)
		if ok != max || limited != 20-max {
			t.Errorf("%d created, %d ErrLimitReached; want %d and %d", ok, limited, max, 20-max)
		}
		list, err := s.ListAppTokens(c, "racer")
		mustNil(t, err)
		if len(list) != max {
			t.Errorf("user holds %d tokens, cap is %d", len(list), max)
		}
	}},
	{"LastAdminRace", func(t *testing.T, s store.Store, clk *Clock) {
		// Each administrator is disabled or removed by a request of its
		// own, all at once: exactly one must stay.
		c := ctx(t)
		const n = 6
		for i := range n {
			mustNil(t, s.CreateUser(c, store.User{Name: fmt.Sprint("admin", i), PasswordHash: []byte("h"), Admin: true}))
		}
		errs := parallel(n, func(i int) error {
			name := fmt.Sprint("admin", i)
			switch i % 3 {
			case 0:
				return s.DeleteUser(c, name)
			case 1:
				_, err := s.UpdateUser(c, name, store.UserUpdate{Disabled: ptr(true)})
				return err
			default:
				_, err := s.UpdateUser(c, name, store.UserUpdate{Admin: ptr(false)})
				return err
			}
		})
		ok, last := countErrs(t, errs, store.ErrLastAdmin)
		if ok != n-1 || last != 1 {
			t.Errorf("%d changes passed, %d ErrLastAdmin; want %d and 1", ok, last, n-1)
		}
		admins, err := s.CountAdmins(c)
		mustNil(t, err)
		if admins != 1 {
			t.Errorf("%d enabled administrators left, want 1", admins)
		}
	}},
	{"ClaimOnceRace", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		var mu sync.Mutex
		wins := 0
		errs := parallel(20, func(i int) error {
			ok, err := s.ClaimOnce(c, "contested", clk.Now().Add(time.Minute))
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
			return err
		})
		countErrs(t, errs, nil)
		if wins != 1 {
			t.Errorf("%d concurrent claims won, want exactly 1", wins)
		}
	}},
	{"TouchDuringBulkDeletes", func(t *testing.T, s store.Store, clk *Clock) {
		// Last-used times are flushed in batches while administrators
		// remove a user's sessions, change a password or remove the user,
		// and while logins evict expired sessions. Every one of these
		// writes many rows of one user; none may fail because a flush
		// touches the same rows at the same moment (on PostgreSQL, rows
		// locked in opposite orders are a deadlock, and one side fails).
		var c context.Context
		const tokens, rounds = 40, 15
		for _, op := range []struct {
			name string
			run  func(round int) error
		}{
			{"DeleteRefreshTokens", func(int) error { _, err := s.DeleteRefreshTokens(c, "u"); return err }},
			{"password change", func(r int) error {
				_, err := s.UpdateUser(c, "u", store.UserUpdate{PasswordHash: fmt.Appendf(nil, "h%d", r)})
				return err
			}},
			{"DeleteUser", func(int) error { return s.DeleteUser(c, "u") }},
			{"expired sessions evicted", func(r int) error {
				clk.Advance(2 * time.Minute)
				return s.CreateRefreshToken(c, store.RefreshToken{ID: fmt.Sprint("new", r), User: "u", ClientID: "docker", Hash: hash(fmt.Sprint("new", r))})
			}},
		} {
			t.Run(op.name, func(t *testing.T) {
				c = ctx(t) // one minute for each operation's rounds
				for r := range rounds {
					if _, err := s.GetUser(c, "u"); err != nil {
						mustNil(t, s.CreateUser(c, store.User{Name: "u", PasswordHash: []byte("h")}))
					}
					var uses []store.Usage
					// Created in the opposite order of their hashes, so that
					// an unordered delete meets an ordered flush head-on.
					hs := make([][]byte, tokens)
					for i := range hs {
						hs[i] = hash(fmt.Sprint(op.name, r, i))
					}
					slices.SortFunc(hs, func(a, b []byte) int { return bytes.Compare(b, a) })
					for i, h := range hs {
						mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: fmt.Sprint(op.name, r, "-", i), User: "u", ClientID: "docker",
							Hash: h, ExpiresAt: clk.Now().Add(time.Minute)}))
						mustNil(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: fmt.Sprint(op.name, r, "-", i), Hash: h}, 0))
						uses = append(uses, store.Usage{Hash: h, Addr: "192.0.2.1"})
					}
					done := make(chan struct{})
					errs := parallel(4, func(i int) error {
						if i == 0 {
							defer close(done)
							return op.run(r)
						}
						for at := clk.Now(); ; at = at.Add(time.Millisecond) {
							select {
							case <-done:
								return nil
							default:
							}
							batch := slices.Clone(uses)
							for j := range batch {
								batch[j].At = at
							}
							if err := s.TouchRefreshTokens(c, batch); err != nil {
								return err
							}
							if err := s.TouchAppTokens(c, batch); err != nil {
								return err
							}
						}
					})
					if err := errors.Join(errs...); err != nil {
						t.Fatalf("round %d: %v", r, err)
					}
					// Start the next round from no tokens.
					if _, err := s.DeleteRefreshTokens(c, "u"); err != nil {
						t.Fatal(err)
					}
					for _, h := range hs {
						if tok, err := s.GetAppTokenByHash(c, h); err == nil {
							mustNil(t, s.DeleteAppToken(c, tok.User, tok.Name))
						}
					}
				}
			})
		}
	}},
	{"Ping", func(t *testing.T, s store.Store, clk *Clock) {
		mustNil(t, s.Ping(ctx(t)))
	}},
}

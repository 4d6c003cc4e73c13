// Package storetest is the conformance suite every store.Store
// implementation runs: RunTests drives one fresh, empty store per subtest
// through the public interface only, so SQLite and PostgreSQL are held to
// exactly the same behaviour.
package storetest

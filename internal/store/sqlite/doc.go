// Package sqlite is the default store.Store: one SQLite file in the data
// directory, driven by the pure-Go modernc.org/sqlite so Portcullis stays a
// static binary.
//
// Durability: the database runs in WAL mode with synchronous=FULL. In WAL
// mode synchronous=NORMAL already keeps every committed transaction across
// a process crash (kill -9: the WAL is in the OS page cache), but a power
// loss or kernel crash can roll back the last commits. For Portcullis a
// lost commit can be a revocation (a deleted token coming back to life) or
// a token that was shown once and then vanishes, so every commit is synced;
// writes are rare (administration, batched last-used updates, replay keys)
// and the fsync per commit is affordable.
//
// Concurrency: writers in this process queue on a semaphore, then take
// SQLite's write lock with BEGIN IMMEDIATE (busy_timeout covers other
// processes on the same file), so read-modify-write transactions such as
// the per-user app-token cap are serialised and never hit SQLITE_BUSY on a
// lock upgrade. Readers run concurrently on their own WAL snapshots.
package sqlite

package storeopen_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/storeopen"
	"github.com/portcullis/portcullis/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func parse(t *testing.T, yaml, dataDir string, env map[string]string) (*config.Config, error) {
	t.Helper()
	return config.Parse([]byte(yaml), dataDir, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
}

// roundTrip proves the opened store is a working, persistent one.
func roundTrip(t *testing.T, cfg config.StoreConfig) {
	t.Helper()
	s, err := storeopen.Open(t.Context(), cfg, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(t.Context(), store.User{Name: "admin", PasswordHash: []byte("h"), Admin: true}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = storeopen.Open(t.Context(), cfg, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountAdmins(t.Context()); err != nil || n != 1 {
		t.Fatalf("after reopen: %d admins, %v", n, err)
	}
}

func TestOpenSQLiteDefault(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parse(t, "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "portcullis.db")
	if cfg.Store.Type != "sqlite" || cfg.Store.Path != want {
		t.Fatalf("default store = %+v, want sqlite at %s", cfg.Store, want)
	}
	roundTrip(t, cfg.Store)
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenPostgres(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	cfg, err := parse(t, "store:\n  type: postgres\n  max_open_conns: 3\n", t.TempDir(),
		map[string]string{"PORTCULLIS_STORE_DSN": dsn})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.DSN != dsn || cfg.Store.MaxOpenConns != 3 {
		t.Fatalf("store config = %+v", cfg.Store)
	}
	roundTrip(t, cfg.Store)
}

// A DSN that cannot be parsed is refused with a message that says why but
// never holds the password, whatever shape the DSN has (libpq allows
// spaces around "=" in key=value form, which pgx's own redaction misses).
func TestOpenPostgresBadDSNHidesPassword(t *testing.T) {
	const secret = "Sekr3tPW"
	for _, tc := range []struct{ name, dsn, why string }{
		{"URL, bad port", "postgres://u:" + secret + "@127.0.0.1:badport/db", "port"},
		{"URL, bad sslmode", "postgres://u:" + secret + "@127.0.0.1/db?sslmode=bogus", "sslmode"},
		{"URL, bad pool size", "postgres://u:" + secret + "@127.0.0.1/db?pool_max_conns=x", "pool_max_conns"},
		{"URL, password in query", "postgres://u@127.0.0.1/db?password=" + secret + "&connect_timeout=x", "connect_timeout"},
		{"key=value", "host=127.0.0.1 user=u password=" + secret + " sslmode=bogus", "sslmode"},
		{"key=value, quoted", "host=127.0.0.1 user=u password='" + secret + "' connect_timeout=x", "connect_timeout"},
		{"key = value", "host=127.0.0.1 user=u password = " + secret + " sslmode=bogus", "sslmode"},
		{"key= value", "host=127.0.0.1 user=u password= " + secret + " port=x", "port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := storeopen.Open(t.Context(), config.StoreConfig{Type: "postgres", DSN: tc.dsn}, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("error %q does not say what is wrong (%s)", err, tc.why)
			}
		})
	}
}

func TestOpenUnknownType(t *testing.T) {
	_, err := storeopen.Open(t.Context(), config.StoreConfig{Type: "mysql"}, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestStoreConfigValidation(t *testing.T) {
	const secret = "s3cretpw"
	for _, tc := range []struct {
		name, yaml string
		wantErr    string // "" = valid
	}{
		{"sqlite default", "", ""},
		{"sqlite explicit path", "store:\n  type: sqlite\n  path: /var/lib/p/x.db\n", ""},
		{"postgres", "store:\n  type: postgres\n  dsn: postgres://u:" + secret + "@127.0.0.1/db\n", ""},
		{"unknown type", "store:\n  type: mysql\n", "store.type"},
		{"postgres without dsn", "store:\n  type: postgres\n", "store.dsn"},
		{"postgres with path", "store:\n  type: postgres\n  dsn: postgres://u:" + secret + "@h/db\n  path: /x.db\n", "store.path"},
		{"postgres pool", "store:\n  type: postgres\n  dsn: postgres://u:" + secret + "@h/db\n  max_open_conns: -1\n", "store.max_open_conns"},
		{"sqlite with dsn", "store:\n  dsn: postgres://u:" + secret + "@h/db\n", "store.dsn"},
		{"sqlite with pool", "store:\n  max_open_conns: 4\n", "store.max_open_conns"},
		{"sqlite path with query", "store:\n  path: /tmp/x.db?mode=memory\n", "store.path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.yaml, t.TempDir(), nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a configuration error naming %s", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not name %s", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the DSN password: %q", err)
			}
		})
	}
}

package postgres_test

import (
	"os"
	"testing"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/postgres"
	"github.com/portcullis/portcullis/internal/store/storetest"
	"github.com/portcullis/portcullis/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func open(t *testing.T, dsn string, opts store.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testenv.Integration(t)
	storetest.RunTests(t, func(t *testing.T, opts store.Options) store.Store {
		return open(t, testenv.StartPostgres(t), opts)
	})
}

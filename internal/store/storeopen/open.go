// Package storeopen opens the store implementation a configuration names.
// It is the one place that knows every implementation, so the rest of
// Portcullis depends on the store.Store interface only.
package storeopen

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/postgres"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

// factory opens one kind of store from its configuration.
type factory func(ctx context.Context, cfg config.StoreConfig, opts store.Options) (store.Store, error)

// factories maps config's store.type to its implementation.
var factories = map[string]factory{
	"sqlite":   openSQLite,
	"postgres": openPostgres,
}

// Types lists the store types Open knows, sorted.
func Types() []string {
	out := make([]string, 0, len(factories))
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Open opens (and migrates) the configured store.
func Open(ctx context.Context, cfg config.StoreConfig, opts store.Options) (store.Store, error) {
	f, ok := factories[cfg.Type]
	if !ok {
		return nil, fmt.Errorf("unknown store type %q (use one of %s)", cfg.Type, strings.Join(Types(), ", "))
	}
	return f(ctx, cfg, opts)
}

func openSQLite(ctx context.Context, cfg config.StoreConfig, opts store.Options) (store.Store, error) {
	return sqlite.Open(ctx, cfg.Path, opts)
}

func openPostgres(ctx context.Context, cfg config.StoreConfig, opts store.Options) (store.Store, error) {
	pc, err := postgres.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, err
	}
	if cfg.MaxOpenConns > 0 {
		pc.MaxConns = int32(min(cfg.MaxOpenConns, 1<<20))
	}
	return postgres.OpenConfig(ctx, pc, opts)
}

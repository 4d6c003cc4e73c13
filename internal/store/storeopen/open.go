// Package storeopen opens the store implementation a configuration names.
package storeopen

import (
	"context"
	"errors"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
)

// Open opens (and migrates) the configured store.
func Open(ctx context.Context, cfg config.StoreConfig, opts store.Options) (store.Store, error) {
	return nil, errors.New("store: not implemented yet")
}

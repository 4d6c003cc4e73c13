// Package apigw is Portcullis' HMAC API-key gateway.
package apigw

import (
	"context"
	"errors"
	"log/slog"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Deps are what the gateway needs from the server.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Keys       store.APIKeyStore
	Replay     store.ReplayStore
}

// Gateway is the API-key gateway.
type Gateway struct{}

// New builds the gateway.
// TODO(apigw): placeholder until the gateway lands.
func New(cfg config.APIGatewayConfig, d Deps) (*Gateway, error) {
	return nil, errors.New("the API-key gateway is not available in this build")
}

// Run serves until ctx ends.
func (g *Gateway) Run(ctx context.Context) error { return nil }

// Reload re-reads key files.
func (g *Gateway) Reload() error { return nil }

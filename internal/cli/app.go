// Package cli holds Portcullis' command-line interface. cmd/portcullis only
// calls Execute; every command is built here and calls into internal/.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/storeopen"
)

// App carries the global flags and lazily opened resources of one CLI run.
type App struct {
	ConfigPath string
	DataDir    string

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	cfg     *config.Config
	cfgFile string // the file cfg was read from; "" for the embedded default
	st      store.Store
	logger  *slog.Logger
}

// Config loads the configuration once.
func (a *App) Config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path := a.ConfigPath
	if path == "" {
		path = os.Getenv("PORTCULLIS_CONFIG")
	}
	cfg, err := config.Load(path, a.DataDir)
	if err != nil {
		return nil, err
	}
	for _, w := range config.UnknownEnv(os.Environ(), cfg.Engine.TokenEnv) {
		fmt.Fprintln(a.Stderr, "warning:", w)
	}
	a.cfg, a.cfgFile = cfg, path
	return cfg, nil
}

// Store opens the configured store once; Close closes it.
func (a *App) Store(ctx context.Context) (store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	cfg, err := a.Config()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := storeopen.Open(ctx, cfg.Store, store.Options{})
	if err != nil {
		return nil, err
	}
	a.st = st
	return st, nil
}

// Logger is the process logger, configured from the config's log section.
func (a *App) Logger() *slog.Logger {
	if a.logger != nil {
		return a.logger
	}
	level := slog.LevelInfo
	format := "text"
	if a.cfg != nil {
		level = a.cfg.SlogLevel()
		format = a.cfg.Log.Format
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(a.Stderr, opts)
	if format == "json" {
		h = slog.NewJSONHandler(a.Stderr, opts)
	}
	a.logger = slog.New(h)
	return a.logger
}

// Close releases what the run opened.
func (a *App) Close() error {
	if a.st != nil {
		return a.st.Close()
	}
	return nil
}

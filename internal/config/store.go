package config

import (
	"path/filepath"
	"strings"
)

// StoreTypes lists the accepted store types.
var StoreTypes = []string{"sqlite", "postgres"}

// StoreConfig selects and configures the persistent store. This file is
// owned by the store; the root Config only embeds it.
type StoreConfig struct {
	// Type is "sqlite" (default, a file in the data dir) or "postgres".
	Type string `yaml:"type"`
	// Path of the SQLite database; default DATA_DIR/portcullis.db.
	Path string `yaml:"path"`
	// DSN of the PostgreSQL database (postgres://...). It usually holds a
	// password: prefer PORTCULLIS_STORE_DSN over the config file.
	DSN string `yaml:"dsn"`
	// MaxOpenConns bounds the PostgreSQL connection pool of this instance
	// (default 10).
	MaxOpenConns int `yaml:"max_open_conns"`
}

func (c *StoreConfig) setDefaults(dataDir string) {
	if c.Type == "" {
		c.Type = "sqlite"
	}
	if c.Type == "sqlite" && c.Path == "" {
		c.Path = filepath.Join(dataDir, "portcullis.db")
	}
	if c.Type == "postgres" && c.MaxOpenConns == 0 {
		c.MaxOpenConns = 10
	}
}

func (c *StoreConfig) validate(v *Validator, path string) {
	switch c.Type {
	case "sqlite":
		if c.DSN != "" {
			v.Errorf(path+".dsn", "only for type postgres")
		}
		if c.MaxOpenConns != 0 {
			v.Errorf(path+".max_open_conns", "only for type postgres")
		}
		if strings.ContainsAny(c.Path, "?#") {
			v.Errorf(path+".path", "must not contain '?' or '#', got %q", c.Path)
		}
	case "postgres":
		// Never echo the DSN: it carries the password.
		if c.DSN == "" {
			v.Errorf(path+".dsn", "must be set for type postgres (postgres://USER:PASSWORD@HOST:5432/DB)")
		}
		if c.Path != "" {
			v.Errorf(path+".path", "only for type sqlite")
		}
		if c.MaxOpenConns < 1 {
			v.Errorf(path+".max_open_conns", "must be at least 1, got %d", c.MaxOpenConns)
		}
	default:
		v.Errorf(path+".type", "unknown store type %q (use one of %s)", c.Type, strings.Join(StoreTypes, ", "))
	}
}

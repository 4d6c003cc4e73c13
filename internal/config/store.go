package config

// StoreConfig selects and configures the persistent store. This file is
// owned by the store; the root Config only embeds it.
type StoreConfig struct {
	// Type is "sqlite" (default, a file in the data dir) or "postgres".
	Type string `yaml:"type"`
	// Path of the SQLite database; default DATA_DIR/portcullis.db.
	Path string `yaml:"path"`
	// DSN of the PostgreSQL database (postgres://...).
	DSN string `yaml:"dsn"`
}

func (c *StoreConfig) setDefaults(dataDir string) {}

func (c *StoreConfig) validate(v *Validator, path string) {}

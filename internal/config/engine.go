package config

// EngineConfig configures the Docker Engine API gateway. This file is
// owned by the engine gateway; the root Config only embeds it.
type EngineConfig struct {
	Enabled bool `yaml:"enabled"`
}

func (c *EngineConfig) setDefaults(dataDir string) {}

func (c *EngineConfig) validate(v *Validator, path string) {}

package config

// APIGatewayConfig configures the HMAC API-key gateway. This file is owned
// by the API-key gateway; the root Config only embeds it.
type APIGatewayConfig struct {
	Enabled bool `yaml:"enabled"`
}

func (c *APIGatewayConfig) setDefaults(dataDir string) {}

func (c *APIGatewayConfig) validate(v *Validator, path string) {}

package config

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// EngineConfig configures the Docker Engine API gateway: a TLS listener
// that accepts tokens instead of client certificates and forwards to the
// daemon. This file is owned by the engine gateway; the root Config only
// embeds it.
type EngineConfig struct {
	Enabled bool `yaml:"enabled"`
	// Addr is the gateway's listener (HOST:PORT); default :2376.
	Addr string `yaml:"addr"`
	// TLSCert and TLSKey default to DATA_DIR/engine/cert.pem and key.pem
	// (written by `portcullis engine init`, or made self-signed for Hosts
	// on first start).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Hosts are the DNS names and IPs a generated certificate is made for;
	// default the machine's hostname, localhost and 127.0.0.1.
	Hosts []string `yaml:"hosts"`
	// Insecure serves plain HTTP, only for use behind a TLS-terminating
	// proxy on the same host: tokens must never cross a network in clear.
	Insecure bool `yaml:"insecure_http"`

	// Upstream is the daemon: unix:///var/run/docker.sock (default) or
	// tcp://HOST:2376 with UpstreamTLS.
	Upstream    string            `yaml:"upstream"`
	UpstreamTLS EngineUpstreamTLS `yaml:"upstream_tls"`

	// TokenEnv names the environment variable holding a single drop-in
	// token (the SOAJS docker-api's DOCKER_API_TOKEN) with policy full;
	// "-" disables it.
	TokenEnv string `yaml:"token_env"`
	// MaxInspectBytes bounds request bodies the gateway must read to
	// inspect (container and exec create, volume create); larger ones are
	// refused with 413.
	MaxInspectBytes int64 `yaml:"max_inspect_bytes"`
	// TokenCacheTTL is how long a token found in the store is trusted
	// without asking again (default 1s): a revoked or rotated token stops
	// working within this time; expiry is always exact. A negative value
	// asks the store on every request.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`

	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle between requests; it
	// never cuts a running stream (logs -f, events, exec).
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	// Policies are named policies tokens may carry besides the built-in
	// "full" and "read-only".
	Policies map[string]EnginePolicy `yaml:"policies"`
}

// EngineUpstreamTLS is the daemon's client certificate for a tcp upstream.
type EngineUpstreamTLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ServerName overrides the name checked in the daemon's certificate.
	ServerName string `yaml:"server_name"`
}

// EnginePolicy is a named policy: which API sections a token may call with
// which methods, and what containers it may create.
type EnginePolicy struct {
	// Allow maps a section (see EngineSections) to methods: GET, HEAD,
	// POST, PUT, DELETE, "read" (GET and HEAD) or "*" (all). ping and
	// version are readable unless listed with an empty list.
	Allow map[string][]string `yaml:"allow"`
	// ContainerCreate restricts container, exec and volume create bodies.
	// Its zero value refuses everything dangerous.
	ContainerCreate EngineCreateRules `yaml:"container_create"`
}

// EngineCreateRules are the checks applied to container-create bodies
// (and exec-create and volume-create bodies) of tokens with a named
// policy. Every field opens one door; the zero value keeps all closed.
type EngineCreateRules struct {
	AllowPrivileged  bool `yaml:"allow_privileged"`
	AllowHostNetwork bool `yaml:"allow_host_network"`
	AllowHostPID     bool `yaml:"allow_host_pid"`
	AllowHostIPC     bool `yaml:"allow_host_ipc"`
	AllowHostUserns  bool `yaml:"allow_host_userns"`
	// AllowHostUTS and AllowHostCgroupns open the host's UTS (hostname)
	// and cgroup namespaces.
	AllowHostUTS      bool `yaml:"allow_host_uts"`
	AllowHostCgroupns bool `yaml:"allow_host_cgroupns"`
	AllowDevices      bool `yaml:"allow_devices"`
	AllowVolumesFrom  bool `yaml:"allow_volumes_from"`
	AllowUnconfined   bool `yaml:"allow_unconfined"`
	// BindPrefixes are host directories that bind mounts (and local
	// volumes with a device) may come from; empty means none.
	BindPrefixes []string `yaml:"bind_prefixes"`
	// AllowCapabilities lists capabilities beyond Docker's default set
	// (EngineDefaultCapabilities) that CapAdd may name: SYS_ADMIN,
	// NET_ADMIN, ... or ALL.
	AllowCapabilities []string `yaml:"allow_capabilities"`
}

// EngineSections are the API sections of the Docker Engine API that
// policies name, after docker-socket-proxy's switches. "archive" holds
// reads of container files (GET/HEAD /containers/{id}/archive and
// /containers/{id}/export, POST /containers/{id}/copy of API versions
// before 1.24) and "image_export" image saves (GET
// /images/get, /images/{name}/get), split out because read access to them
// reads any file.
var EngineSections = []string{
	"archive", "auth", "build", "commit", "configs", "containers", "distribution",
	"events", "exec", "grpc", "image_export", "images", "info", "networks", "nodes",
	"ping", "plugins", "secrets", "services", "session", "swarm", "system", "tasks",
	"version", "volumes",
}

// EngineDefaultCapabilities are the capabilities Docker gives a container
// by default; a create body may add them again without any rule.
var EngineDefaultCapabilities = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// EngineCapabilities are the Linux capability names (without CAP_) and
// ALL, which container_create.allow_capabilities may list.
var EngineCapabilities = []string{
	"ALL", "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF",
	"CHECKPOINT_RESTORE", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID",
	"IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
	"MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP",
	"SETGID", "SETPCAP", "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE",
	"SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "WAKE_ALARM",
}

// EngineMethods are the method words a policy may use.
var EngineMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "read", "*"}

// Built-in engine policy names.
const (
	EnginePolicyFull     = "full"
	EnginePolicyReadOnly = "read-only"
)

// HasEnginePolicy reports whether name is a built-in or configured policy.
func (c *EngineConfig) HasEnginePolicy(name string) bool {
	if name == EnginePolicyFull || name == EnginePolicyReadOnly {
		return true
	}
	_, ok := c.Policies[name]
	return ok
}

// EnginePolicyNames lists every policy name, built-in first.
func (c *EngineConfig) EnginePolicyNames() []string {
	names := make([]string, 0, len(c.Policies))
	for n := range c.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	return append([]string{EnginePolicyFull, EnginePolicyReadOnly}, names...)
}

func (c *EngineConfig) setDefaults(dataDir string) {
	if c.Addr == "" {
		c.Addr = ":2376"
	}
	// Both default, or neither: a configured certificate with the default
	// key (or the reverse) is refused by validate, naming the field.
	if !c.Insecure && c.TLSCert == "" && c.TLSKey == "" {
		c.TLSCert = filepath.Join(dataDir, "engine", "cert.pem")
		c.TLSKey = filepath.Join(dataDir, "engine", "key.pem")
	}
	if c.Upstream == "" {
		c.Upstream = "unix:///var/run/docker.sock"
	}
	if c.TokenEnv == "" {
		c.TokenEnv = "DOCKER_API_TOKEN"
	}
	if c.MaxInspectBytes == 0 {
		c.MaxInspectBytes = 1 << 20
	}
	if c.TokenCacheTTL == 0 {
		c.TokenCacheTTL = time.Second
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
}

func (c *EngineConfig) validate(v *Validator, p string) {
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		v.Errorf(p+".addr", "must be HOST:PORT or :PORT, not %q", c.Addr)
	}
	if c.Insecure && (c.TLSCert != "" || c.TLSKey != "") {
		v.Errorf(p+".insecure_http", "cannot be combined with tls_cert/tls_key")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") && !c.Insecure {
		v.Errorf(p+".tls_cert", "tls_cert and tls_key go together")
	}
	u, err := url.Parse(c.Upstream)
	switch {
	case err != nil:
		v.Errorf(p+".upstream", "not a URL: %v", err)
	case u.Scheme == "unix":
		if u.Path == "" {
			v.Errorf(p+".upstream", "unix upstream needs a socket path (unix:///var/run/docker.sock)")
		}
		if c.UpstreamTLS != (EngineUpstreamTLS{}) {
			v.Errorf(p+".upstream_tls", "only for a tcp upstream")
		}
	case u.Scheme == "tcp" || u.Scheme == "https":
		if u.Host == "" {
			v.Errorf(p+".upstream", "tcp upstream needs HOST:PORT (tcp://10.0.0.5:2376)")
		}
		t := c.UpstreamTLS
		if (t.Cert == "") != (t.Key == "") {
			v.Errorf(p+".upstream_tls", "cert and key go together")
		}
	case u.Scheme == "http":
		// Plain TCP to a daemon is only sane on loopback; allowed for tests.
		if u.Host == "" {
			v.Errorf(p+".upstream", "http upstream needs HOST:PORT")
		}
	default:
		v.Errorf(p+".upstream", "must start with unix://, tcp:// or http://, not %q", c.Upstream)
	}
	if c.MaxInspectBytes < 1024 || c.MaxInspectBytes > 64<<20 {
		v.Errorf(p+".max_inspect_bytes", "must be between 1024 and 64 MiB, got %d", c.MaxInspectBytes)
	}
	if c.TokenCacheTTL > time.Minute {
		v.Errorf(p+".token_cache_ttl", "must be at most 1m (revocation waits this long), got %s", c.TokenCacheTTL)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"read_header_timeout", c.ReadHeaderTimeout}, {"idle_timeout", c.IdleTimeout}, {"shutdown_timeout", c.ShutdownTimeout}} {
		if d.d < 0 {
			v.Errorf(p+"."+d.name, "must not be negative")
		}
	}
	names := make([]string, 0, len(c.Policies))
	for n := range c.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pol := c.Policies[n]
		pp := fmt.Sprintf("%s.policies.%s", p, n)
		if n == EnginePolicyFull || n == EnginePolicyReadOnly {
			v.Errorf(pp, "%q is a built-in policy and cannot be redefined", n)
		}
		if n == "" || strings.ContainsAny(n, " \t\n/") {
			v.Errorf(pp, "policy names must be non-empty words")
		}
		secs := make([]string, 0, len(pol.Allow))
		for s := range pol.Allow {
			secs = append(secs, s)
		}
		sort.Strings(secs)
		for _, s := range secs {
			if !oneOf(s, EngineSections) {
				v.Errorf(pp+".allow."+s, "unknown section (use one of %s)", strings.Join(EngineSections, ", "))
			}
			for _, m := range pol.Allow[s] {
				if !oneOf(m, EngineMethods) {
					v.Errorf(pp+".allow."+s, "unknown method %q (use %s)", m, strings.Join(EngineMethods, ", "))
				}
			}
		}
		for i, c := range pol.ContainerCreate.AllowCapabilities {
			if !oneOf(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_"), EngineCapabilities) {
				v.Errorf(fmt.Sprintf("%s.container_create.allow_capabilities[%d]", pp, i), "%q is not a Linux capability (SYS_ADMIN, NET_ADMIN, ... or ALL)", c)
			}
		}
		for i, b := range pol.ContainerCreate.BindPrefixes {
			if !strings.HasPrefix(b, "/") || path.Clean(b) != b {
				v.Errorf(fmt.Sprintf("%s.container_create.bind_prefixes[%d]", pp, i), "must be a clean absolute path, not %q", b)
			}
		}
	}
}

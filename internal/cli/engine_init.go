package cli

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/gwserver"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/spf13/cobra"
)

// engineCertValidity is how long `engine init` certificates last (the
// CA/Browser limit clients such as macOS enforce for server certificates).
const engineCertValidity = 825 * 24 * time.Hour

// containerUID is the non-root user the container examples run as.
const containerUID = 65532

// engineInit is what `engine init` made, for printing the set-up.
type engineInit struct {
	cfg        *config.Config
	cfgFile    string // the config file this command read; "" for none
	certDir    string
	hosts      []string
	notAfter   time.Time
	publicHost string
	port       string
	tokenName  string
	policy     string
	expires    time.Time
	secret     string
	image      string
	socket     string // daemon socket path, "" for a tcp upstream
	socketGID  string
	hostname   string
	stackFile  string
}

func newEngineInitCmd(a *App) *cobra.Command {
	var (
		hosts, ips           []string
		name, policy, expiry string
		port, image          string
		force, noToken       bool
	)
	cmd := &cobra.Command{
		Use:   "init [--host NAME]... [--ip IP]...",
		Short: "Make the gateway's TLS certificate and a first token, and print the client and server set-up",
		Long: `Make a CA and a server certificate for the engine gateway (for the names and
IPs given, or the machine's), store a first token (hashed) and print it once,
with the docker CLI set-up (a 'docker context create' line with the CA and the
HttpHeaders snippet for ~/.docker/config.json) and how to run the gateway
(the portcullis serve configuration, a 'docker run' line, a 'docker service
create' line and a stack file, with the daemon socket mounted).

Files go to DATA_DIR/engine: ca.pem (give it to clients), cert.pem, key.pem
and stack.yml. The CA's private key is not kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			d, err := parseExpiry(expiry)
			if err != nil {
				return err
			}
			all, err := initHosts(hosts, ips)
			if err != nil {
				return err
			}
			if port == "" {
				_, port, _ = net.SplitHostPort(cfg.Engine.Addr)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("--port %q is not a port number", port)
			}
			certDir := filepath.Join(cfg.DataDir, "engine")
			if !force {
				for _, f := range engine.CertFiles {
					if _, err := os.Stat(filepath.Join(certDir, f)); err == nil {
						return fmt.Errorf("%s already exists: the gateway is set up (add tokens with `portcullis engine token create`, or use --force to replace its certificate)", filepath.Join(certDir, f))
					}
				}
			}
			// The token's name and policy are checked before anything is
			// written, so a refused init leaves nothing to --force over.
			if !noToken {
				if err := checkTokenName(name); err != nil {
					return err
				}
				if !cfg.Engine.HasEnginePolicy(policy) {
					return a.unknownPolicy(cfg, policy)
				}
			}
			st, err := a.Store(ctx)
			if err != nil {
				return err
			}
			existing, err := st.ListEngineTokens(ctx)
			if err != nil {
				return fmt.Errorf("list engine tokens: %w", err)
			}
			if !noToken && slices.ContainsFunc(existing, func(t store.EngineToken) bool { return t.Name == name }) {
				return fmt.Errorf("an engine token named %q exists; pick another --name, or rotate it with `portcullis engine token rotate %s`", name, name)
			}
			certs, err := engine.MakeCerts(all, engineCertValidity)
			if err != nil {
				return err
			}
			if err := certs.Write(certDir, force); err != nil {
				return err
			}
			in := &engineInit{
				cfg: cfg, cfgFile: a.cfgFile, certDir: certDir, hosts: all, notAfter: certNotAfter(certs.Cert),
				publicHost: all[0], port: port, image: image,
			}
			if !noToken {
				secret, t, err := createEngineToken(ctx, a, name, policy, d)
				if err != nil {
					return err
				}
				in.tokenName, in.policy, in.expires, in.secret = t.Name, t.Policy, t.ExpiresAt, secret
			}
			in.socket, in.socketGID = daemonSocket(cfg.Engine.Upstream)
			in.hostname, _ = os.Hostname()
			in.stackFile = filepath.Join(certDir, "stack.yml")
			if err := os.WriteFile(in.stackFile, []byte(in.stack()), 0o644); err != nil {
				return fmt.Errorf("write stack file: %w", err)
			}
			in.print(a.Stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&hosts, "host", nil, "DNS name clients use to reach the gateway (repeatable; default: this machine's names)")
	f.StringArrayVar(&ips, "ip", nil, "IP address clients use to reach the gateway (repeatable; default: this machine's addresses)")
	f.StringVar(&name, "name", "admin", "name of the first token")
	f.StringVar(&policy, "policy", config.EnginePolicyFull, "policy of the first token")
	f.StringVar(&expiry, "expires", "", "lifetime of the first token, e.g. 90d (default: never)")
	f.StringVar(&port, "port", "", "port clients connect to (default: engine.addr's port)")
	f.StringVar(&image, "image", "portcullis:latest", "Portcullis image for the docker run and swarm examples")
	f.BoolVar(&force, "force", false, "replace an existing certificate (clients must get the new ca.pem)")
	f.BoolVar(&noToken, "no-token", false, "make no token (with --force: only a new certificate, e.g. for more names)")
	return cmd
}

// initHosts are the certificate's names: those given, or the machine's
// hostname, localhost and its addresses.
func initHosts(hosts, ips []string) ([]string, error) {
	var all []string
	for _, h := range hosts {
		h = strings.TrimSpace(strings.ToLower(h))
		if h == "" || strings.ContainsAny(h, " /:*") || net.ParseIP(h) != nil {
			return nil, fmt.Errorf("--host %q: want a DNS name (IP addresses go in --ip)", h)
		}
		all = append(all, h)
	}
	for _, s := range ips {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return nil, fmt.Errorf("--ip %q is not an IP address", s)
		}
		all = append(all, ip.String())
	}
	if len(all) == 0 {
		all = gwserver.DefaultHosts()
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
					all = append(all, n.IP.String())
				}
			}
		}
	}
	seen := map[string]bool{}
	out := all[:0]
	for _, h := range all {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

func certNotAfter(certPEM []byte) time.Time {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return time.Time{}
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return time.Time{}
	}
	return c.NotAfter
}

// daemonSocket returns the unix socket of the upstream and its group, which
// a non-root gateway needs to join.
func daemonSocket(upstream string) (path, gid string) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "unix" {
		return "", ""
	}
	gid = "$(stat -c %g " + u.Path + ")"
	if fi, err := os.Stat(u.Path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			gid = strconv.FormatUint(uint64(st.Gid), 10)
		}
	}
	return u.Path, gid
}

func (in *engineInit) caPath() string { return filepath.Join(in.certDir, "ca.pem") }

// endpoint is what clients dial.
func (in *engineInit) endpoint() string {
	return "tcp://" + net.JoinHostPort(in.publicHost, in.port)
}

// ContextLine is the docker context create command for the gateway.
func (in *engineInit) contextLine() string {
	return fmt.Sprintf("docker context create portcullis --docker \"host=%s,ca=%s\"", in.endpoint(), in.caPath())
}

func (in *engineInit) headersSnippet() string {
	b, _ := json.MarshalIndent(map[string]map[string]string{"HttpHeaders": {"Authorization": "Bearer " + in.secret}}, "", "  ")
	return string(b)
}

// user is the container user: the data dir's owner when that is not root
// (the files init wrote are theirs), else containerUID, with the socket's
// group.
func (in *engineInit) user() (string, bool) {
	uid := os.Getuid()
	chown := false
	if uid == 0 {
		uid, chown = containerUID, true
	}
	gid := in.socketGID
	if gid == "" {
		gid = strconv.Itoa(uid)
	}
	return strconv.Itoa(uid) + ":" + gid, chown
}

func (in *engineInit) containerEnv() []string {
	env := []string{"PORTCULLIS_DATA_DIR=/data", "PORTCULLIS_ENGINE_ENABLED=true", "PORTCULLIS_ENGINE_ADDR=:2376"}
	if in.socket == "" {
		env = append(env, "PORTCULLIS_ENGINE_UPSTREAM="+in.cfg.Engine.Upstream)
	}
	if in.cfg.Store.Type == "postgres" {
		env = append(env, "PORTCULLIS_STORE_TYPE=postgres", "PORTCULLIS_STORE_DSN=postgres://...")
	}
	return env
}

func (in *engineInit) dockerRun() string {
	user, _ := in.user()
	var b strings.Builder
	fmt.Fprintf(&b, "docker run -d --name portcullis-engine --restart unless-stopped \\\n")
	fmt.Fprintf(&b, "    --user %s \\\n", user)
	fmt.Fprintf(&b, "    -p %s:2376 \\\n", in.port)
	if in.socket != "" {
		fmt.Fprintf(&b, "    -v %s:/var/run/docker.sock \\\n", in.socket)
	}
	fmt.Fprintf(&b, "    -v %s:/data \\\n", in.cfg.DataDir)
	for _, e := range in.containerEnv() {
		fmt.Fprintf(&b, "    -e %s \\\n", e)
	}
	fmt.Fprintf(&b, "    %s serve", in.image)
	return b.String()
}

func (in *engineInit) serviceCreate() string {
	user, _ := in.user()
	var b strings.Builder
	fmt.Fprintf(&b, "docker service create --name portcullis-engine \\\n")
	fmt.Fprintf(&b, "    --constraint node.hostname==%s \\\n", in.hostname)
	fmt.Fprintf(&b, "    --publish published=%s,target=2376,mode=host \\\n", in.port)
	fmt.Fprintf(&b, "    --user %s \\\n", user)
	if in.socket != "" {
		fmt.Fprintf(&b, "    --mount type=bind,src=%s,dst=/var/run/docker.sock \\\n", in.socket)
	}
	fmt.Fprintf(&b, "    --mount type=bind,src=%s,dst=/data \\\n", in.cfg.DataDir)
	for _, e := range in.containerEnv() {
		fmt.Fprintf(&b, "    --env %s \\\n", e)
	}
	fmt.Fprintf(&b, "    %s serve", in.image)
	return b.String()
}

// stackGIDVar is interpolated by `docker stack deploy` when the socket's
// group was not known here.
const stackGIDVar = "${DOCKER_GID}"

// stack is a compose file for `docker stack deploy`; compose files do not
// run shell substitutions, so an unknown group is left to DOCKER_GID.
func (in *engineInit) stack() string {
	user, _ := in.user()
	if u, g, _ := strings.Cut(user, ":"); strings.HasPrefix(g, "$(") {
		user = u + ":" + stackGIDVar
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", in.stackDeploy())
	fmt.Fprintf(&b, "version: \"3.8\"\nservices:\n  engine:\n")
	fmt.Fprintf(&b, "    image: %s\n    command: [\"serve\"]\n    user: %q\n", in.image, user)
	fmt.Fprintf(&b, "    environment:\n")
	for _, e := range in.containerEnv() {
		k, v, _ := strings.Cut(e, "=")
		fmt.Fprintf(&b, "      %s: %q\n", k, v)
	}
	fmt.Fprintf(&b, "    ports:\n      - target: 2376\n        published: %s\n        mode: host\n", in.port)
	fmt.Fprintf(&b, "    volumes:\n")
	if in.socket != "" {
		fmt.Fprintf(&b, "      - type: bind\n        source: %s\n        target: /var/run/docker.sock\n", in.socket)
	}
	fmt.Fprintf(&b, "      - type: bind\n        source: %s\n        target: /data\n", in.cfg.DataDir)
	fmt.Fprintf(&b, "    deploy:\n      placement:\n        constraints: [\"node.hostname == %s\"]\n", in.hostname)
	fmt.Fprintf(&b, "      restart_policy:\n        condition: any\n")
	return b.String()
}

func (in *engineInit) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("Engine gateway set up in %s\n", in.certDir)
	p("  CA certificate:      %s (give this file to clients)\n", in.caPath())
	p("  server certificate:  %s for %s (expires %s)\n", filepath.Join(in.certDir, "cert.pem"), strings.Join(in.hosts, ", "), in.notAfter.UTC().Format("2006-01-02"))
	p("  server key:          %s\n", filepath.Join(in.certDir, "key.pem"))
	if in.secret != "" {
		p("\nToken %q (policy %s, expires %s):\n\n  %s\n\n", in.tokenName, in.policy, formatExpiry(in.expires), in.secret)
		p("It is shown only this once: Portcullis keeps only its hash. A lost token is\n")
		p("rotated (portcullis engine token rotate %s), not recovered.\n", in.tokenName)
	} else {
		in.secret = "<token>"
		p("\nNo token made: use `portcullis engine token create --name NAME`; <token> below stands for it.\n")
	}

	p("\n== Client: the docker CLI ==\n")
	p("Copy %s to the client machine (adjust the path below), then:\n\n", in.caPath())
	p("  %s\n  docker context use portcullis\n\n", in.contextLine())
	p("and add the token to ~/.docker/config.json (the CLI sends it to every daemon it\n")
	p("talks to; keep a separate DOCKER_CONFIG directory if it also talks to others):\n\n")
	for _, l := range strings.Split(in.headersSnippet(), "\n") {
		p("  %s\n", l)
	}
	p("\nWith docker CLI 27.1 or later the environment works too:\n")
	p("  export DOCKER_CUSTOM_HEADERS=\"token=%s\"\n", in.secret)
	p("Other clients send \"Authorization: Bearer <token>\" or the SOAJS header \"token: <token>\".\n")
	p("Check with: docker --context portcullis version\n")
	p("\nbuildx (and docker build where buildx is installed) ignores HttpHeaders; for it, run\n")
	p("on the client, with the token in a file:\n\n")
	p("  portcullis engine connect --host %s --tlscacert %s --token-file FILE\n\n", in.endpoint(), in.caPath())
	p("and point DOCKER_HOST at the socket it prints.\n")

	p("\n== Gateway: portcullis serve ==\n")
	file := in.cfgFile
	if file == "" {
		file = "portcullis.yaml"
		p("Save this as %s (same data_dir and store as this command):\n\n", file)
	} else {
		p("Add this to %s (same data_dir and store as this command):\n\n", file)
	}
	p("  data_dir: %s\n  engine:\n    enabled: true\n    addr: \":%s\"\n", in.cfg.DataDir, in.port)
	p("    tls_cert: %s\n    tls_key: %s\n", filepath.Join(in.certDir, "cert.pem"), filepath.Join(in.certDir, "key.pem"))
	p("    upstream: %s\n", in.cfg.Engine.Upstream)
	p("    # policies: {ci: {allow: {containers: [\"*\"], images: [read]}, container_create: {bind_prefixes: [/srv/ci]}}}\n")
	p("\nthen: portcullis serve --config %s\n", file)

	user, chown := in.user()
	p("\n== Gateway in a container (image built from the repository's Dockerfile) ==\n")
	p("The gateway runs as %s: the group is the daemon socket's, which it needs to reach the daemon.\n", user)
	if chown {
		p("The files above belong to root; give them to the container user first:\n\n  chown -R %d:%d %s\n\n", containerUID, containerUID, in.cfg.DataDir)
	}
	p("\n%s\n", in.dockerRun())
	p("\n== Gateway on a swarm ==\n")
	p("The data directory is bound from this node, so the service is pinned to it:\n\n")
	p("%s\n", in.serviceCreate())
	p("\nor as a stack (written to %s):\n\n", in.stackFile)
	p("  %s\n", in.stackDeploy())
}

func (in *engineInit) stackDeploy() string {
	line := "docker stack deploy -c " + filepath.Join(in.certDir, "stack.yml") + " portcullis"
	if strings.HasPrefix(in.socketGID, "$(") {
		line = "DOCKER_GID=" + in.socketGID + " " + line
	}
	return line
}

// Command apigw drives the API-key gateway benchmark (scripts/bench-apigw):
//
//	apigw gateway -addr A -upstream URL -keys FILE [-cert C -key K] [-log FILE]
//	apigw tokens -id ID -secret HEX -n N [-ttl 50s] > tokens.txt
//	apigw plainproxy -addr A -upstream URL [-cert C -key K]
//	apigw rawfloor -addr A -upstream HOST:PORT -secret HEX
//	apigw epollfloor -addr A -upstream HOST:PORT -secret HEX
//
// "gateway" runs the gateway with in-memory replay protection on, as
// `portcullis serve` would; "tokens" pre-signs N distinct tokens, one a
// line, that wrk's Lua script sends one per request (wrk's Lua has no
// HMAC, so tokens are signed ahead, each used once); "plainproxy" is a
// bare httputil.ReverseProxy without authentication, which tells the
// cost of Go's proxying apart from the cost of the checks; "rawfloor" is
// the least a Go proxy can spend (see rawfloor.go).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/apigw"
	"github.com/portcullis/portcullis/internal/config"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: apigw gateway|tokens|plainproxy|rawfloor [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gateway":
		err = gateway(os.Args[2:])
	case "tokens":
		err = tokens(os.Args[2:])
	case "plainproxy":
		err = plainProxy(os.Args[2:])
	case "rawfloor":
		err = rawFloor(os.Args[2:])
	case "epollfloor":
		err = epollFloor(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apigw:", err)
		os.Exit(1)
	}
}

func gateway(args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18443", "listen address")
	upstream := fs.String("upstream", "http://127.0.0.1:18080", "upstream URL")
	keys := fs.String("keys", "keys.properties", "keys file")
	cert := fs.String("cert", "", "TLS certificate (empty: plain HTTP)")
	key := fs.String("key", "", "TLS key")
	logPath := fs.String("log", os.DevNull, "audit log file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile here until exit")
	_ = fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	doc := fmt.Sprintf(`api_gateway:
  enabled: true
  addr: %q
  keys_file: %q
  replay: memory
  rate_limit: {per_second: 1000000, burst: 1000000}
  routes:
    - prefix: /
      upstream: %q
`, *addr, *keys, *upstream)
	if *cert == "" {
		doc += "  insecure_http: true\n"
	} else {
		doc += fmt.Sprintf("  tls_cert: %q\n  tls_key: %q\n", *cert, *key)
	}
	dir, err := os.MkdirTemp("", "apigw-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Parse([]byte(doc), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	lf, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	bw := bufio.NewWriterSize(lf, 64<<10)
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: bw}, nil))
	g, err := apigw.New(cfg.APIGateway, apigw.Deps{Logger: logger})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		for range time.Tick(time.Second) {
			bufMu.Lock()
			_ = bw.Flush()
			bufMu.Unlock()
		}
	}()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	return g.Serve(ctx, ln)
}

func tokens(args []string) error {
	fs := flag.NewFlagSet("tokens", flag.ExitOnError)
	id := fs.String("id", "001", "key id")
	secret := fs.String("secret", "", "key secret (hex)")
	n := fs.Int("n", 100000, "number of tokens")
	ttl := fs.Duration("ttl", 50*time.Second, "token lifetime")
	_ = fs.Parse(args)
	if *n <= 0 || *n > 10_000_000 {
		return fmt.Errorf("-n must be 1..10000000")
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	exp := time.Now().Add(*ttl)
	for range *n {
		if _, err := fmt.Fprintln(w, apigw.Sign(*id, *secret, exp)); err != nil {
			return err
		}
	}
	return w.Flush()
}

func plainProxy(args []string) error {
	fs := flag.NewFlagSet("plainproxy", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18444", "listen address")
	upstream := fs.String("upstream", "http://127.0.0.1:18080", "upstream URL")
	cert := fs.String("cert", "", "TLS certificate (empty: plain HTTP)")
	key := fs.String("key", "", "TLS key")
	_ = fs.Parse(args)
	u, err := url.Parse(*upstream)
	if err != nil {
		return err
	}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		FlushInterval: -1,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 512, ResponseHeaderTimeout: time.Minute},
	}
	srv := &http.Server{Addr: *addr, Handler: rp, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:     log.New(io.Discard, "", 0), // the script's port probes are not TLS
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	if *cert != "" {
		return srv.ListenAndServeTLS(*cert, *key)
	}
	return srv.ListenAndServe()
}

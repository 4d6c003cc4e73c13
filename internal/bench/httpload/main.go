// Command httpload is the benchmarks' HTTP load generator. Unlike wrk it
// reaches unix sockets (the Docker daemon's), so a gateway and the daemon
// behind it are measured by the same client. It runs keep-alive GETs at a
// fixed concurrency for a bounded time and request count and prints
// requests/s, p50 and p99; with -stream it downloads one response and
// prints its size and throughput.
//
//	httpload -unix /run/docker.sock -c 16 -d 10s http://docker/_ping
//	httpload -cacert ca.pem -H 'Authorization: Bearer ...' -c 16 https://127.0.0.1:2376/_ping
//	httpload -stream -unix /run/docker.sock http://docker/images/big/get
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// result is one run's figures, printed as a JSON line.
type result struct {
	URL      string  `json:"url"`
	Conc     int     `json:"concurrency,omitempty"`
	Requests int64   `json:"requests,omitempty"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps,omitempty"`
	P50ms    float64 `json:"p50_ms,omitempty"`
	P99ms    float64 `json:"p99_ms,omitempty"`
	Bytes    int64   `json:"bytes,omitempty"`
	Seconds  float64 `json:"seconds,omitempty"`
	MBps     float64 `json:"mb_per_s,omitempty"`
	// CPUs is the CPU time (user+system) httpload itself used, warm-up
	// included, so that a bench can tell the client's share of a saturated
	// machine from the target's.
	CPUs float64 `json:"cpu_s"`
}

func main() {
	var (
		unixSock, caFile string
		hdrs             headers
		conc             = flag.Int("c", 1, "concurrent connections")
		dur              = flag.Duration("d", 10*time.Second, "duration of the measured run")
		warm             = flag.Duration("warmup", time.Second, "unmeasured warm-up before the run")
		maxReq           = flag.Int64("n", 5_000_000, "stop after this many requests")
		stream           = flag.Bool("stream", false, "download one response and report throughput")
		timeout          = flag.Duration("timeout", 10*time.Minute, "bound on the whole run")
	)
	flag.StringVar(&unixSock, "unix", "", "connect to this unix socket instead of the URL's host")
	flag.StringVar(&caFile, "cacert", "", "CA certificate (PEM) for https URLs")
	flag.Var(&hdrs, "H", "request header \"Name: value\" (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 || *conc < 1 || *conc > 1024 {
		fmt.Fprintln(os.Stderr, "usage: httpload [flags] URL (1 <= -c <= 1024)")
		os.Exit(2)
	}
	url := flag.Arg(0)
	tr, err := transport(unixSock, caFile, *conc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpload:", err)
		os.Exit(1)
	}
	h := http.Header{}
	for _, kv := range hdrs {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "httpload: header %q is not Name: value\n", kv)
			os.Exit(2)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var r result
	if *stream {
		r, err = download(ctx, tr, url, h)
	} else {
		r, err = load(ctx, tr, url, h, *conc, *warm, *dur, *maxReq)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpload:", err)
		os.Exit(1)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.CPUs = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func transport(unixSock, caFile string, conc int) (*http.Transport, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		MaxConnsPerHost:     conc,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		TLSHandshakeTimeout: 5 * time.Second,
		ReadBufferSize:      64 << 10,
	}
	if unixSock != "" {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", unixSock)
		}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}

func get(ctx context.Context, c *http.Client, url string, h http.Header) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header = h.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("status %d", resp.StatusCode)
	}
	return n, nil
}

// load runs conc workers for warm+dur and measures the last dur.
func load(ctx context.Context, tr *http.Transport, url string, h http.Header, conc int, warm, dur time.Duration, maxReq int64) (result, error) {
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if _, err := get(ctx, c, url, h); err != nil {
		return result{}, fmt.Errorf("first request to %s: %w", url, err)
	}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		count     atomic.Int64
		errs      atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	lat := make([][]time.Duration, conc)
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 1<<16)
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				_, err := get(ctx, c, url, h)
				d := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if count.Add(1) > maxReq {
					stop.Store(true)
				}
				own = append(own, d)
			}
			lat[i] = own
		}()
	}
	time.Sleep(warm)
	measuring.Store(true)
	start := time.Now()
	timer := time.NewTimer(dur)
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	stop.Store(true)
	elapsed := time.Since(start)
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{URL: url, Conc: conc, Requests: int64(len(all)), Errors: errs.Load()}
	if len(all) == 0 {
		return r, errors.New("no successful request")
	}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	r.P50ms = ms(all[len(all)*50/100])
	r.P99ms = ms(all[min(len(all)-1, len(all)*99/100)])
	if r.Errors > 0 {
		fmt.Fprintf(os.Stderr, "httpload: %d errors, first: %v\n", r.Errors, firstErr.Load())
	}
	return r, nil
}

func download(ctx context.Context, tr *http.Transport, url string, h http.Header) (result, error) {
	c := &http.Client{Transport: tr}
	start := time.Now()
	n, err := get(ctx, c, url, h)
	if err != nil {
		return result{}, fmt.Errorf("download %s: %w", url, err)
	}
	s := time.Since(start).Seconds()
	return result{URL: url, Bytes: n, Seconds: s, MBps: float64(n) / s / (1 << 20)}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

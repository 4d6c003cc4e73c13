// Command bare is the benchmark baseline: a plain net/http server that
// answers every request with a fixed body, over HTTP or TLS.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	cert := flag.String("cert", "", "TLS certificate (PEM); empty = plain HTTP")
	key := flag.String("key", "", "TLS key (PEM)")
	flag.Parse()
	body := []byte(`{"token":"fixed","access_token":"fixed","expires_in":300}` + "\n")
	srv := &http.Server{
		Addr:              *addr,
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}),
	}
	var err error
	if *cert != "" {
		err = srv.ListenAndServeTLS(*cert, *key)
	} else {
		err = srv.ListenAndServe()
	}
	log.Fatal(err)
}

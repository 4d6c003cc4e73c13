// Command loadtokens creates (or migrates) a SQLite store and adds N
// benchmark app tokens to it, for scripts/bench's comparison of app-token
// logins with a thousand and with a million tokens stored.
//
//	go run ./internal/bench/loadtokens -db DIR/portcullis.db -n 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/store/sqlite/sqlitebench"
)

func main() {
	path := flag.String("db", "", "SQLite store `file` (created and migrated when missing)")
	n := flag.Int("n", 1_000_000, "benchmark tokens to add")
	flag.Parse()
	if *path == "" || *n < 0 {
		fmt.Fprintln(os.Stderr, "usage: loadtokens -db FILE [-n N]")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := sqlite.Open(ctx, *path, store.Options{})
	if err == nil {
		err = s.Close()
	}
	if err == nil {
		err = sqlitebench.LoadAppTokens(ctx, *path, *n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtokens:", err)
		os.Exit(1)
	}
}

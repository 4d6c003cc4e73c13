package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"io"
	"net"
	"strconv"
)

// rawFloor is a reference point, not a gateway: the least a Go proxy can
// spend per request on this machine. It speaks just enough HTTP/1.1 for
// the benchmark (GET, Content-Length answers) with no HTTP library, one
// upstream connection per client connection, and checks only the
// token's HMAC: no header rewriting, no expiry, replay, rate limit,
// route, log or metrics. Comparing it with nginx tells whether a target
// is out of reach for Go itself or for net/http.
func rawFloor(args []string) error {
	fs := flag.NewFlagSet("rawfloor", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18445", "listen address")
	upstream := fs.String("upstream", "127.0.0.1:18080", "upstream HOST:PORT")
	secret := fs.String("secret", "", "key secret (hex, used as ASCII bytes as the gateway does)")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go rawServe(c, *upstream, []byte(*secret))
	}
}

var bearer = []byte("Authorization: Bearer ")

func rawServe(c net.Conn, upstream string, secret []byte) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	ur, uw := bufio.NewReader(u), bufio.NewWriter(u)
	m := hmac.New(sha256.New, secret)
	var sig [sha256.Size]byte
	for {
		ok := false
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) > len(bearer) && bytes.EqualFold(line[:len(bearer)], bearer) {
				tok := bytes.TrimSpace(line[len(bearer):])
				if i := bytes.LastIndexByte(tok, '.'); i > 0 {
					m.Reset()
					m.Write(tok[:i])
					n, _ := base64.RawURLEncoding.Decode(sig[:], tok[i+1:])
					ok = n == len(sig) && hmac.Equal(m.Sum(nil), sig[:])
				}
				continue
			}
			uw.Write(line)
			if len(line) <= 2 {
				break
			}
		}
		if !ok {
			bw.WriteString("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
			if bw.Flush() != nil {
				return
			}
			uw.Reset(u)
			continue
		}
		if uw.Flush() != nil {
			return
		}
		length := 0
		for {
			line, err := ur.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) > 16 && bytes.EqualFold(line[:16], []byte("Content-Length: ")) {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(line[16:])))
			}
			bw.Write(line)
			if len(line) <= 2 {
				break
			}
		}
		if _, err := io.CopyN(bw, ur, int64(length)); err != nil || bw.Flush() != nil {
			return
		}
	}
}

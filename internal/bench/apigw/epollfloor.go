package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"hash"
	"net"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// epollFloor is the same reference point as rawFloor, but without the
// Go runtime's network poller and goroutines: one event loop per CPU on
// its own OS thread, each waiting in epoll_wait and serving every ready
// connection in turn, as nginx's workers do. It tells how much of the gap
// to nginx is the runtime's per-request scheduling. It handles only what
// the benchmark sends (GET, small Content-Length answers that fit one
// write) and closes a connection on anything else.
func epollFloor(args []string) error {
	fs := flag.NewFlagSet("epollfloor", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18446", "listen address")
	upstream := fs.String("upstream", "127.0.0.1:18080", "upstream HOST:PORT")
	secret := fs.String("secret", "", "key secret (hex, used as ASCII bytes as the gateway does)")
	loops := fs.Int("loops", runtime.GOMAXPROCS(0), "event loops")
	_ = fs.Parse(args)
	la, err := sockaddr(*addr)
	if err != nil {
		return err
	}
	ua, err := sockaddr(*upstream)
	if err != nil {
		return err
	}
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_ = unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(lfd, la); err != nil {
		return fmt.Errorf("bind %s: %w", *addr, err)
	}
	if err := unix.Listen(lfd, 4096); err != nil {
		return err
	}
	errc := make(chan error, *loops)
	for range *loops {
		go func() { errc <- eloop(lfd, ua, []byte(*secret)) }()
	}
	return <-errc
}

func sockaddr(hostport string) (*unix.SockaddrInet4, error) {
	ap, err := net.ResolveTCPAddr("tcp4", hostport)
	if err != nil {
		return nil, err
	}
	sa := &unix.SockaddrInet4{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To4())
	return sa, nil
}

type econn struct {
	cfd, ufd int
	in, uin  []byte
	out      []byte
	m        hash.Hash
}

func eloop(lfd int, up *unix.SockaddrInet4, secret []byte) error {
	runtime.LockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(lfd)}); err != nil {
		return err
	}
	conns := map[int]*econn{}
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	var sig [sha256.Size]byte
	closeConn := func(c *econn) {
		delete(conns, c.cfd)
		delete(conns, c.ufd)
		unix.Close(c.cfd)
		unix.Close(c.ufd)
	}
	for {
		n, err := unix.EpollWait(ep, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for {
					cfd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
					if err != nil {
						break
					}
					ufd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						unix.Close(cfd)
						continue
					}
					if err := unix.Connect(ufd, up); err != nil {
						unix.Close(cfd)
						unix.Close(ufd)
						continue
					}
					_ = unix.SetNonblock(ufd, true)
					_ = unix.SetsockoptInt(cfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
					_ = unix.SetsockoptInt(ufd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
					c := &econn{cfd: cfd, ufd: ufd, m: hmac.New(sha256.New, secret)}
					conns[cfd], conns[ufd] = c, c
					_ = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, cfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(cfd)})
					_ = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ufd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(ufd)})
				}
				continue
			}
			c := conns[fd]
			if c == nil {
				continue
			}
			r, err := unix.Read(fd, buf)
			if err == unix.EAGAIN {
				continue
			}
			if r <= 0 {
				closeConn(c)
				continue
			}
			if fd == c.cfd {
				c.in = append(c.in, buf[:r]...)
				if !c.requests(&sig) {
					closeConn(c)
				}
			} else {
				c.uin = append(c.uin, buf[:r]...)
				if !c.responses() {
					closeConn(c)
				}
			}
		}
	}
}

// requests forwards every complete request head in c.in upstream, without
// its Authorization line, after checking the token's HMAC.
func (c *econn) requests(sig *[sha256.Size]byte) bool {
	for {
		end := bytes.Index(c.in, []byte("\r\n\r\n"))
		if end < 0 {
			return len(c.in) < 16<<10
		}
		head := c.in[:end+4]
		c.out = c.out[:0]
		ok := false
		for len(head) > 0 {
			i := bytes.IndexByte(head, '\n')
			line := head[:i+1]
			head = head[i+1:]
			if len(line) > len(bearer) && bytes.EqualFold(line[:len(bearer)], bearer) {
				tok := bytes.TrimSpace(line[len(bearer):])
				if j := bytes.LastIndexByte(tok, '.'); j > 0 {
					c.m.Reset()
					c.m.Write(tok[:j])
					n, _ := base64.RawURLEncoding.Decode(sig[:], tok[j+1:])
					ok = n == len(sig) && hmac.Equal(c.m.Sum(nil), sig[:])
				}
				continue
			}
			c.out = append(c.out, line...)
		}
		c.in = c.in[:copy(c.in, c.in[end+4:])]
		var err error
		if ok {
			_, err = unix.Write(c.ufd, c.out)
		} else {
			_, err = unix.Write(c.cfd, []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"))
		}
		if err != nil {
			return false
		}
	}
}

// responses writes every complete Content-Length answer in c.uin to the
// client.
func (c *econn) responses() bool {
	for {
		end := bytes.Index(c.uin, []byte("\r\n\r\n"))
		if end < 0 {
			return len(c.uin) < 16<<10
		}
		length := -1
		for head := c.uin[:end+2]; len(head) > 0; {
			i := bytes.IndexByte(head, '\n')
			line := head[:i+1]
			head = head[i+1:]
			if len(line) > 16 && bytes.EqualFold(line[:16], []byte("Content-Length: ")) {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(line[16:])))
			}
		}
		if length < 0 {
			return false
		}
		total := end + 4 + length
		if len(c.uin) < total {
			return true
		}
		if _, err := unix.Write(c.cfd, c.uin[:total]); err != nil {
			return false
		}
		c.uin = c.uin[:copy(c.uin, c.uin[total:])]
	}
}

package engine_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStreamFlushedWhenDaemonPauses sends a bulk stream (many chunks
// written at once, gathered into large writes by the gateway) and then a
// last chunk whose closing CRLF arrives split, after which the daemon
// pauses: the client must have every byte, the last chunk included, while
// the daemon is still paused. A log line must never wait for the next one.
func TestStreamFlushedWhenDaemonPauses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	const chunks, chunkLen = 200, 40000
	bulk := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, chunkLen) }
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		var b bytes.Buffer
		b.WriteString("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i := range chunks {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", chunkLen, bulk(i))
		}
		// Half of the closing CRLF comes with the chunk.
		b.WriteString("6\r\nhello\n\r")
		c.Write(b.Bytes())
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		c.Write([]byte("\n0\r\n\r\n"))
	}()
	defer close(release)

	addr, tok := startPlainGateway(t, "http://"+ln.Addr().String())
	req, _ := http.NewRequest("GET", "http://"+addr+"/containers/x/logs?follow=1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := chunks*chunkLen + len("hello\n")
	got := make([]byte, want)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, got); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream before the pause: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the last chunk before the daemon paused did not reach the client")
	}
	for i := range chunks {
		if !bytes.Equal(got[i*chunkLen:(i+1)*chunkLen], bulk(i)) {
			t.Fatalf("chunk %d arrived altered", i)
		}
	}
	if tail := string(got[chunks*chunkLen:]); tail != "hello\n" {
		t.Fatalf("last chunk %q", tail)
	}
	release <- struct{}{}
	rest, err := io.ReadAll(resp.Body)
	if err != nil || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("after the pause: %q, %v", rest, err)
	}
}

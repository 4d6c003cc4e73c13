package engine_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"testing"
	"time"
)

// HTTP/2 frame types (RFC 9113 section 6).
const (
	h2FrameSettings = 0x4
	h2FramePing     = 0x6
	h2FlagAck       = 0x1
)

// h2Frame reads one HTTP/2 frame header and payload.
func h2Frame(t *testing.T, r io.Reader) (typ, flags byte, payload []byte) {
	t.Helper()
	var hdr [9]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("reading an HTTP/2 frame: %v", err)
	}
	n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	if n > 1<<14 {
		t.Fatalf("HTTP/2 frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatalf("reading an HTTP/2 frame payload: %v", err)
	}
	return hdr[3], hdr[4], payload
}

func h2Write(t *testing.T, w io.Writer, typ, flags byte, payload []byte) {
	t.Helper()
	var hdr [9]byte
	hdr[0], hdr[1], hdr[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	hdr[3], hdr[4] = typ, flags
	binary.BigEndian.PutUint32(hdr[5:], 0)
	if _, err := w.Write(append(hdr[:], payload...)); err != nil {
		t.Fatal(err)
	}
}

// TestH2CUpgradeOnGRPC upgrades POST /grpc (BuildKit's endpoint) to h2c
// through the gateway and speaks HTTP/2 with the daemon: its SETTINGS
// arrive and a PING is answered with the same payload.
func TestH2CUpgradeOnGRPC(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token("builder", "full", time.Time{})
	conn := g.tlsDial()
	req := "POST /v1.41/grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n" +
		"X-Docker-Expose-Session-Grpc-Method: /moby.buildkit.v1.Control/ListWorkers\r\n" +
		"Authorization: Bearer " + tok + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "h2c" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("upgrade answered %d %q: %s", resp.StatusCode, resp.Header.Get("Upgrade"), b)
	}

	// Client connection preface, an empty SETTINGS, then a PING.
	io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	h2Write(t, conn, h2FrameSettings, 0, nil)
	ping := []byte("pc-h2c!!")
	h2Write(t, conn, h2FramePing, 0, ping)

	sawSettings, sawPong := false, false
	for i := 0; i < 10 && !(sawSettings && sawPong); i++ {
		typ, flags, payload := h2Frame(t, br)
		switch {
		case typ == h2FrameSettings && flags&h2FlagAck == 0:
			sawSettings = true
			h2Write(t, conn, h2FrameSettings, h2FlagAck, nil)
		case typ == h2FramePing && flags&h2FlagAck != 0:
			if !bytes.Equal(payload, ping) {
				t.Fatalf("PING ack payload %q, want %q", payload, ping)
			}
			sawPong = true
		}
	}
	if !sawSettings || !sawPong {
		t.Fatalf("no HTTP/2 from the daemon: settings %v, ping ack %v", sawSettings, sawPong)
	}
}

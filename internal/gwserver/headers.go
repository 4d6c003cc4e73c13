package gwserver

import (
	"bufio"
	"net/textproto"
	"path"
	"strings"
	"time"
)

// aLongTimeAgo is a deadline that makes blocked reads and writes return.
var aLongTimeAgo = time.Unix(1, 0)

// CleanPath reports whether p is in canonical form (no //, . or ..
// segments), so that what a gateway checks is what the upstream serves.
func CleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// maxQueryParams is httputil.ReverseProxy's limit before it re-encodes a
// query.
const maxQueryParams = 10000

// PlainQuery reports whether q is a query httputil.ReverseProxy would
// send unchanged (it re-encodes queries with ';', bad escapes or very
// many parameters).
func PlainQuery(q string) bool {
	if strings.Count(q, "&") >= maxQueryParams {
		return false
	}
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == ';', c < 0x20, c == 0x7f:
			return false
		case c == '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

var headerNewlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// WriteHeaderLine writes one header line as http.Request.Write does: CR
// and LF turned to spaces, surrounding white space trimmed.
func WriteHeaderLine(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = headerNewlineToSpace.Replace(v)
	}
	v = textproto.TrimString(v)
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// HasToken reports whether a comma-separated header lists token.
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

//go:build !unix

package apigw

import "net"

// directSupported is false where idle connections cannot be checked:
// every request goes through http.Transport.
const directSupported = false

func idleConnOK(net.Conn) bool { return false }

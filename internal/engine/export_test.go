package engine

// SetNetHTTPOnly keeps every request of g on net/http's server, off the
// fast server (tests compare both).
func SetNetHTTPOnly(g *Gateway) { g.noFastServer = true }

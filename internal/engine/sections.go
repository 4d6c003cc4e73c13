package engine

import "strings"

// bodyKind names the request bodies the gateway inspects.
type bodyKind int

const (
	bodyNone bodyKind = iota
	bodyContainerCreate
	bodyExecCreate
	bodyVolumeCreate
	// bodyContainerStart is a start body: before API 1.24 dockerd took a
	// host configuration from it and replaced the container's with it
	// (binds, privileged and all), and dockerd 20.10 still serves those
	// API versions.
	bodyContainerStart
)

// route is what a request is, in policy terms.
type route struct {
	// Section is one of config.EngineSections, or "" for paths the gateway
	// does not know (only the full policy reaches them).
	Section string
	// Method is the method policies judge: the request's, except for
	// websocket attach, a GET that writes to the container's stdin and so
	// counts as POST.
	Method string
	Body   bodyKind
	// Build is POST /build, whose query parameters (networkmode) the
	// create rules judge; its body is a build context, streamed unread.
	Build bool
}

// classify maps a version-less path to its section the way dockerd's
// router does. Container and image routes end in the action
// (`/containers/{name:.*}/archive`), so their last segment decides.
func classify(method, p string) route {
	r := route{Method: method}
	trimmed := strings.TrimPrefix(p, "/")
	first, rest, _ := strings.Cut(trimmed, "/")
	last := trimmed
	if i := strings.LastIndexByte(trimmed, '/'); i >= 0 {
		last = trimmed[i+1:]
	}
	switch first {
	case "_ping":
		if rest == "" {
			r.Section = "ping"
		}
	case "version", "info", "events", "auth", "commit", "session", "grpc":
		if rest == "" {
			r.Section = first
		}
	case "build":
		r.Section = "build"
		r.Build = method == "POST" && rest == ""
	case "configs", "distribution", "networks", "nodes", "plugins",
		"secrets", "services", "swarm", "system", "tasks", "exec":
		r.Section = first
	case "volumes":
		r.Section = "volumes"
		if method == "POST" && rest == "create" {
			r.Body = bodyVolumeCreate
		}
	case "images":
		r.Section = "images"
		if (method == "GET" || method == "HEAD") && last == "get" {
			r.Section = "image_export"
		}
	case "containers":
		r.Section = "containers"
		switch method {
		case "DELETE":
		case "GET", "HEAD":
			switch {
			case last == "archive" || last == "export":
				r.Section = "archive"
			case last == "ws" && strings.HasSuffix(trimmed, "/attach/ws"):
				r.Method = "POST"
			}
		case "PUT":
			if last == "archive" {
				r.Section = "archive"
			}
		case "POST":
			switch {
			case rest == "create":
				r.Body = bodyContainerCreate
			case last == "start" && rest != "start":
				r.Body = bodyContainerStart
			case last == "copy" && rest != "copy":
				// The copy call of API versions before 1.24 (dockerd
				// 20.10 still serves it) reads a container file.
				r.Section = "archive"
			case last == "exec" && rest != "exec":
				r.Section = "exec"
				r.Body = bodyExecCreate
			}
		}
	}
	return r
}

// registryCredentialCall reports the calls (version-less path) on which
// dockerd answers 401 when a registry wants credentials, and on which the
// docker client then asks for them and retries: pull (POST
// /images/create), push, search, plugin install and upgrade
// (/plugins/privileges, /plugins/pull, /plugins/{name}/upgrade), and login
// (POST /auth).
func registryCredentialCall(method, p string) bool {
	switch method {
	case "GET":
		return p == "/images/search" || p == "/plugins/privileges"
	case "POST":
		switch {
		case p == "/auth", p == "/images/create", p == "/plugins/pull":
			return true
		case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/push"):
			return true
		case strings.HasPrefix(p, "/plugins/") && strings.HasSuffix(p, "/upgrade"):
			return true
		}
	}
	return false
}

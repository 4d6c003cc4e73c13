package engine

import (
	"fmt"
	"slices"

	"github.com/portcullis/portcullis/internal/config"
)

// methodSet is a bit set of HTTP methods.
type methodSet uint8

const (
	mGET methodSet = 1 << iota
	mHEAD
	mPOST
	mPUT
	mDELETE
	mOther

	mRead = mGET | mHEAD
	mAll  = mGET | mHEAD | mPOST | mPUT | mDELETE | mOther
)

func methodBit(m string) methodSet {
	switch m {
	case "GET":
		return mGET
	case "HEAD":
		return mHEAD
	case "POST":
		return mPOST
	case "PUT":
		return mPUT
	case "DELETE":
		return mDELETE
	default:
		return mOther
	}
}

func parseMethods(words []string) methodSet {
	var s methodSet
	for _, w := range words {
		switch w {
		case "*":
			s |= mAll
		case "read":
			s |= mRead
		default:
			s |= methodBit(w)
		}
	}
	return s
}

// readOnlyRefused are sections whose reads disclose secrets or file
// contents: container files (archive, export), whole images, swarm join
// and unlock keys, config data, and the BuildKit endpoints.
var readOnlyRefused = []string{"archive", "image_export", "swarm", "configs", "grpc", "session"}

// Policy is a compiled token policy.
type Policy struct {
	Name string
	full bool
	// allow maps a section to the methods permitted on it.
	allow map[string]methodSet
	// rules apply to inspected bodies; nil means bodies are not inspected.
	rules *config.EngineCreateRules
}

// Decision is a policy's answer for one request.
type Decision struct {
	Allowed bool
	// Rule names what refused (or allowed) the request, for the 403 message
	// and the audit log.
	Rule string
}

func compilePolicies(cfg config.EngineConfig) map[string]*Policy {
	ps := map[string]*Policy{
		config.EnginePolicyFull: {Name: config.EnginePolicyFull, full: true},
	}
	ro := &Policy{Name: config.EnginePolicyReadOnly, allow: map[string]methodSet{}}
	for _, s := range config.EngineSections {
		if !slices.Contains(readOnlyRefused, s) {
			ro.allow[s] = mRead
		}
	}
	ps[ro.Name] = ro
	for name, pc := range cfg.Policies {
		p := &Policy{Name: name, allow: map[string]methodSet{}}
		for s, ms := range pc.Allow {
			p.allow[s] = parseMethods(ms)
		}
		// The CLI pings and asks the version before anything else.
		for _, s := range []string{"ping", "version"} {
			if _, ok := pc.Allow[s]; !ok {
				p.allow[s] = mRead
			}
		}
		rules := pc.ContainerCreate
		p.rules = &rules
		ps[name] = p
	}
	return ps
}

// Decide judges a classified request.
func (p *Policy) Decide(r route) Decision {
	if p.full {
		return Decision{Allowed: true, Rule: "full"}
	}
	if r.Section == "" {
		return Decision{Rule: fmt.Sprintf("policy %q: endpoint not in any section", p.Name)}
	}
	if p.allow[r.Section]&methodBit(r.Method) != 0 {
		return Decision{Allowed: true, Rule: p.Name + "." + r.Section}
	}
	if p.Name == config.EnginePolicyReadOnly && slices.Contains(readOnlyRefused, r.Section) && (r.Method == "GET" || r.Method == "HEAD") {
		return Decision{Rule: fmt.Sprintf("policy %q: section %s is refused (its reads disclose files or secrets)", p.Name, r.Section)}
	}
	return Decision{Rule: fmt.Sprintf("policy %q: %s not allowed on section %s", p.Name, r.Method, r.Section)}
}

// inspects reports whether bodies of kind k are read and checked.
func (p *Policy) inspects(k bodyKind) bool {
	return k != bodyNone && p.rules != nil
}

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// The types below mirror the fields of dockerd's request types that the
// create rules judge. They are decoded with encoding/json exactly as
// dockerd decodes its own (keys matched case-insensitively, a repeated
// key overwriting or merging into the earlier one), so the gateway sees
// what the daemon will act on.

// strSlice decodes a string or a list of strings, like dockerd's
// strslice.StrSlice (CapAdd accepts both).
type strSlice []string

func (s *strSlice) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		*s = nil
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*s = list
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*s = []string{one}
	return nil
}

type driverConfig struct {
	Name    string
	Options map[string]string
}

type mountSpec struct {
	Type          string
	Source        string
	Target        string
	VolumeOptions *struct {
		DriverConfig *driverConfig
	}
}

type hostConfig struct {
	Binds             []string
	Mounts            []mountSpec
	NetworkMode       string
	PidMode           string
	IpcMode           string
	UsernsMode        string
	UTSMode           string
	CgroupnsMode      string
	Privileged        bool
	CapAdd            strSlice
	SecurityOpt       []string
	Devices           []json.RawMessage
	DeviceCgroupRules []string
	DeviceRequests    []json.RawMessage
	VolumesFrom       []string
	MaskedPaths       *[]string
	ReadonlyPaths     *[]string
}

// containerCreate is dockerd's create body. Before API 1.44 dockerd also
// embedded a host config at the top level and used it when "HostConfig"
// was absent, so both are judged.
type containerCreate struct {
	hostConfig
	HostConfig *hostConfig `json:"HostConfig"`
}

type execCreate struct {
	Privileged bool
}

type volumeCreate struct {
	Driver     string
	DriverOpts map[string]string
}

// violation is a create rule that refused a body.
type violation struct {
	Rule   string // config key, e.g. container_create.allow_privileged
	Detail string
}

func (v *violation) Error() string { return v.Rule + ": " + v.Detail }

// errUninspectable is a body that is not the JSON dockerd expects.
type errUninspectable struct{ err error }

func (e *errUninspectable) Error() string { return "body is not valid JSON: " + e.err.Error() }

// inspectBody judges a body of kind k against rules. It returns nil, a
// *violation or an *errUninspectable.
func inspectBody(k bodyKind, body []byte, rules *config.EngineCreateRules) error {
	if k == bodyContainerStart && len(bytes.TrimSpace(body)) == 0 {
		// The usual start: no body, nothing to judge.
		return nil
	}
	if err := decodeStrict(body); err != nil {
		return err
	}
	switch k {
	case bodyContainerCreate, bodyContainerStart:
		// dockerd decodes a legacy start body with the create body's
		// wrapper: the host config at the top level or under "HostConfig".
		var c containerCreate
		if err := json.Unmarshal(body, &c); err != nil {
			return &errUninspectable{err}
		}
		if v := checkHostConfig(&c.hostConfig, rules); v != nil {
			return v
		}
		if c.HostConfig != nil {
			if v := checkHostConfig(c.HostConfig, rules); v != nil {
				return v
			}
		}
	case bodyExecCreate:
		var e execCreate
		if err := json.Unmarshal(body, &e); err != nil {
			return &errUninspectable{err}
		}
		if e.Privileged && !rules.AllowPrivileged {
			return &violation{"container_create.allow_privileged", "privileged exec refused"}
		}
	case bodyVolumeCreate:
		var vc volumeCreate
		if err := json.Unmarshal(body, &vc); err != nil {
			return &errUninspectable{err}
		}
		if v := checkDriverOpts(vc.DriverOpts, rules); v != nil {
			return v
		}
	}
	return nil
}

// checkBuild judges the parameters of a build (POST /build): a build's
// RUN steps are containers, and networkmode=host puts them in the host's
// network namespace. dockerd reads the parameters with r.FormValue, which
// also parses an application/x-www-form-urlencoded body, so such a body
// (never a build context) is refused rather than left unread.
func checkBuild(r *http.Request, p *Policy) *httpError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt == "application/x-www-form-urlencoded" {
			return &httpError{Status: http.StatusUnsupportedMediaType, Outcome: "bad_request", Msg: "a build body must be a build context, not form parameters"}
		}
	}
	for _, m := range r.URL.Query()["networkmode"] {
		if isHostMode(m) && !p.rules.AllowHostNetwork {
			return &httpError{Status: http.StatusForbidden, Outcome: "forbidden",
				Msg: "policy " + quote(p.Name) + " refuses this: container_create.allow_host_network: build network mode host refused"}
		}
	}
	return nil
}

// decodeStrict refuses bodies that are empty, not one JSON object, or
// followed by anything: dockerd decodes the first value of a stream and
// ignores the rest, so a second value must never reach it.
func decodeStrict(body []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return &errUninspectable{err}
	}
	if m == nil {
		return &errUninspectable{fmt.Errorf("expected a JSON object")}
	}
	return nil
}

func checkHostConfig(h *hostConfig, r *config.EngineCreateRules) *violation {
	if h.Privileged && !r.AllowPrivileged {
		return &violation{"container_create.allow_privileged", "privileged containers refused"}
	}
	if isHostMode(h.NetworkMode) && !r.AllowHostNetwork {
		return &violation{"container_create.allow_host_network", "network mode host refused"}
	}
	if isHostMode(h.PidMode) && !r.AllowHostPID {
		return &violation{"container_create.allow_host_pid", "pid mode host refused"}
	}
	if isHostMode(h.IpcMode) && !r.AllowHostIPC {
		return &violation{"container_create.allow_host_ipc", "ipc mode host refused"}
	}
	if isHostMode(h.UsernsMode) && !r.AllowHostUserns {
		return &violation{"container_create.allow_host_userns", "userns mode host refused"}
	}
	if isHostMode(h.UTSMode) && !r.AllowHostUTS {
		return &violation{"container_create.allow_host_uts", "uts mode host refused"}
	}
	if isHostMode(h.CgroupnsMode) && !r.AllowHostCgroupns {
		return &violation{"container_create.allow_host_cgroupns", "cgroupns mode host refused"}
	}
	if (len(h.Devices) > 0 || len(h.DeviceCgroupRules) > 0 || len(h.DeviceRequests) > 0) && !r.AllowDevices {
		return &violation{"container_create.allow_devices", "host devices refused"}
	}
	if len(h.VolumesFrom) > 0 && !r.AllowVolumesFrom {
		return &violation{"container_create.allow_volumes_from", "volumes-from refused"}
	}
	for _, c := range h.CapAdd {
		name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
		// Only Docker's default set may be added without a rule: a list
		// of dangerous ones would miss some (AUDIT_CONTROL, SYS_PACCT ...
		// act on the host).
		if !slices.Contains(config.EngineDefaultCapabilities, name) && !slices.ContainsFunc(r.AllowCapabilities, func(a string) bool {
			return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(a)), "CAP_") == name
		}) {
			return &violation{"container_create.allow_capabilities", fmt.Sprintf("capability %s refused", name)}
		}
	}
	if !r.AllowUnconfined {
		for _, o := range h.SecurityOpt {
			if !safeSecurityOpt(o) {
				return &violation{"container_create.allow_unconfined", fmt.Sprintf("security option %q refused", truncate(o, 64))}
			}
		}
		if h.MaskedPaths != nil || h.ReadonlyPaths != nil {
			return &violation{"container_create.allow_unconfined", "MaskedPaths/ReadonlyPaths refused"}
		}
	}
	for _, b := range h.Binds {
		src, _, hasDst := strings.Cut(b, ":")
		if !hasDst || !strings.HasPrefix(src, "/") {
			// A container path alone (anonymous volume) or a named volume.
			continue
		}
		if !underPrefixes(src, r.BindPrefixes) {
			return &violation{"container_create.bind_prefixes", fmt.Sprintf("bind mount of %s refused", truncate(src, 256))}
		}
	}
	for _, m := range h.Mounts {
		switch strings.ToLower(m.Type) {
		case "volume":
			if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
				if v := checkDriverOpts(m.VolumeOptions.DriverConfig.Options, r); v != nil {
					return v
				}
			}
		case "tmpfs", "npipe", "cluster":
		default:
			// bind, or a type dockerd will refuse anyway: judge its source.
			if !underPrefixes(m.Source, r.BindPrefixes) {
				return &violation{"container_create.bind_prefixes", fmt.Sprintf("bind mount of %s refused", truncate(m.Source, 256))}
			}
		}
	}
	return nil
}

// checkDriverOpts refuses volume driver options that mount a host path
// (the local driver's "device" with o=bind is a bind mount in disguise).
func checkDriverOpts(opts map[string]string, r *config.EngineCreateRules) *violation {
	for k, v := range opts {
		if strings.EqualFold(strings.TrimSpace(k), "device") && !underPrefixes(v, r.BindPrefixes) {
			return &violation{"container_create.bind_prefixes", fmt.Sprintf("volume device %s refused", truncate(v, 256))}
		}
	}
	return nil
}

// isHostMode matches "host" and "host:..." in any case: dockerd's
// PidMode.IsHost looks only at the part before ":".
func isHostMode(m string) bool {
	before, _, _ := strings.Cut(strings.TrimSpace(m), ":")
	return strings.EqualFold(before, "host")
}

func safeSecurityOpt(o string) bool {
	key, val, ok := strings.Cut(o, "=")
	if !ok {
		key, val, ok = strings.Cut(o, ":")
	}
	key = strings.ToLower(strings.TrimSpace(key))
	val = strings.ToLower(strings.TrimSpace(val))
	switch key {
	case "no-new-privileges":
		return !ok || val == "true"
	case "label":
		return val != "disable" && !strings.HasPrefix(val, "disable")
	default:
		// seccomp, apparmor, systempaths and unknown options can all
		// loosen confinement.
		return false
	}
}

// underPrefixes reports whether the absolute host path p lies in one of
// prefixes (whole path components; ".." resolved first).
func underPrefixes(p string, prefixes []string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	p = path.Clean(p)
	for _, pre := range prefixes {
		if pre == "/" || p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

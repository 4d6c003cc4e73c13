package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

var ciRules = &config.EngineCreateRules{BindPrefixes: []string{"/srv/ci"}}

func TestInspectContainerCreate(t *testing.T) {
	tests := []struct {
		name string
		body string
		rule string // "" = allowed; "json" = uninspectable
	}{
		{"plain", `{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"none"}}`, ""},
		{"no host config", `{"Image":"busybox"}`, ""},
		{"privileged", `{"Image":"busybox","HostConfig":{"Privileged":true}}`, "container_create.allow_privileged"},
		{"privileged lower-case keys", `{"image":"busybox","hostconfig":{"privileged":true}}`, "container_create.allow_privileged"},
		{"privileged mixed-case keys", `{"HOSTCONFIG":{"PrIvIlEgEd":true}}`, "container_create.allow_privileged"},
		{"privileged duplicate key, last wins", `{"HostConfig":{"Privileged":false,"Privileged":true}}`, "container_create.allow_privileged"},
		{"privileged, duplicate HostConfig merges", `{"HostConfig":{"Privileged":true},"HostConfig":{"NetworkMode":"none"}}`, "container_create.allow_privileged"},
		{"privileged false after true", `{"HostConfig":{"Privileged":true,"privileged":false}}`, ""},
		{"top-level privileged (pre-1.44 embedded host config)", `{"Image":"busybox","Privileged":true}`, "container_create.allow_privileged"},
		{"top-level bind", `{"Image":"busybox","Binds":["/etc:/x"]}`, "container_create.bind_prefixes"},
		{"host network", `{"HostConfig":{"NetworkMode":"host"}}`, "container_create.allow_host_network"},
		{"host network upper case", `{"HostConfig":{"NetworkMode":"HOST"}}`, "container_create.allow_host_network"},
		{"container network", `{"HostConfig":{"NetworkMode":"container:abc"}}`, ""},
		{"host pid", `{"HostConfig":{"PidMode":"host"}}`, "container_create.allow_host_pid"},
		{"host pid with suffix", `{"HostConfig":{"PidMode":"host:1"}}`, "container_create.allow_host_pid"},
		{"host ipc", `{"HostConfig":{"IpcMode":"host"}}`, "container_create.allow_host_ipc"},
		{"host userns", `{"HostConfig":{"UsernsMode":"host"}}`, "container_create.allow_host_userns"},
		{"cap ALL list", `{"HostConfig":{"CapAdd":["ALL"]}}`, "container_create.allow_capabilities"},
		{"cap SYS_ADMIN string", `{"HostConfig":{"CapAdd":"cap_sys_admin"}}`, "container_create.allow_capabilities"},
		{"cap NET_BIND_SERVICE", `{"HostConfig":{"CapAdd":["NET_BIND_SERVICE"]}}`, ""},
		{"cap default set", `{"HostConfig":{"CapAdd":["CHOWN","cap_kill","SETUID"]}}`, ""},
		{"cap AUDIT_CONTROL (not in the default set)", `{"HostConfig":{"CapAdd":["AUDIT_CONTROL"]}}`, "container_create.allow_capabilities"},
		{"cap SYS_PACCT", `{"HostConfig":{"CapAdd":["CAP_SYS_PACCT"]}}`, "container_create.allow_capabilities"},
		{"cap SYS_RESOURCE", `{"HostConfig":{"CapAdd":["SYS_RESOURCE"]}}`, "container_create.allow_capabilities"},
		{"cap unknown name", `{"HostConfig":{"CapAdd":["NOT_A_CAP"]}}`, "container_create.allow_capabilities"},
		{"devices", `{"HostConfig":{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}}`, "container_create.allow_devices"},
		{"device requests (--gpus)", `{"HostConfig":{"DeviceRequests":[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]}}`, "container_create.allow_devices"},
		{"host uts", `{"HostConfig":{"UTSMode":"host"}}`, "container_create.allow_host_uts"},
		{"host cgroupns", `{"HostConfig":{"CgroupnsMode":"host"}}`, "container_create.allow_host_cgroupns"},
		{"private cgroupns", `{"HostConfig":{"CgroupnsMode":"private","UTSMode":""}}`, ""},
		{"device cgroup rules", `{"HostConfig":{"DeviceCgroupRules":["b *:* rwm"]}}`, "container_create.allow_devices"},
		{"volumes from", `{"HostConfig":{"VolumesFrom":["other"]}}`, "container_create.allow_volumes_from"},
		{"seccomp unconfined", `{"HostConfig":{"SecurityOpt":["seccomp=unconfined"]}}`, "container_create.allow_unconfined"},
		{"seccomp custom profile", `{"HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}}`, "container_create.allow_unconfined"},
		{"apparmor unconfined old syntax", `{"HostConfig":{"SecurityOpt":["apparmor:unconfined"]}}`, "container_create.allow_unconfined"},
		{"label disable", `{"HostConfig":{"SecurityOpt":["label=disable"]}}`, "container_create.allow_unconfined"},
		{"no-new-privileges", `{"HostConfig":{"SecurityOpt":["no-new-privileges"]}}`, ""},
		{"masked paths emptied", `{"HostConfig":{"MaskedPaths":[]}}`, "container_create.allow_unconfined"},
		{"bind allowed", `{"HostConfig":{"Binds":["/srv/ci/work:/work:ro"]}}`, ""},
		{"bind prefix itself", `{"HostConfig":{"Binds":["/srv/ci:/work"]}}`, ""},
		{"bind outside", `{"HostConfig":{"Binds":["/etc:/host-etc"]}}`, "container_create.bind_prefixes"},
		{"bind root", `{"HostConfig":{"Binds":["/:/host"]}}`, "container_create.bind_prefixes"},
		{"bind dot-dot escape", `{"HostConfig":{"Binds":["/srv/ci/../../etc:/x"]}}`, "container_create.bind_prefixes"},
		{"bind sibling prefix", `{"HostConfig":{"Binds":["/srv/ci-other:/x"]}}`, "container_create.bind_prefixes"},
		{"named volume", `{"HostConfig":{"Binds":["data:/data"]}}`, ""},
		{"anonymous volume", `{"HostConfig":{"Binds":["/data"]}}`, ""},
		{"mount bind outside", `{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]}}`, "container_create.bind_prefixes"},
		{"mount bind upper type", `{"HostConfig":{"Mounts":[{"type":"BIND","source":"/etc","target":"/x"}]}}`, "container_create.bind_prefixes"},
		{"mount unknown type", `{"HostConfig":{"Mounts":[{"Type":"weird","Source":"/etc","Target":"/x"}]}}`, "container_create.bind_prefixes"},
		{"mount bind allowed", `{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/srv/ci/a","Target":"/x"}]}}`, ""},
		{"mount tmpfs", `{"HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/x"}]}}`, ""},
		{"mount volume with device", `{"HostConfig":{"Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/etc"}}}}]}}`, "container_create.bind_prefixes"},
		{"empty body", ``, "json"},
		{"null", `null`, "json"},
		{"array", `[]`, "json"},
		{"two values", `{"Image":"busybox"} {"HostConfig":{"Privileged":true}}`, "json"},
		{"trailing garbage", `{"Image":"busybox"}x`, "json"},
		{"wrong type", `{"HostConfig":{"Privileged":"true"}}`, "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := inspectBody(bodyContainerCreate, []byte(tt.body), ciRules)
			checkInspect(t, err, tt.rule)
		})
	}
}

func checkInspect(t *testing.T, err error, want string) {
	t.Helper()
	var v *violation
	var u *errUninspectable
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want == "json" && !errors.As(err, &u):
		t.Fatalf("got %v, want an uninspectable-body error", err)
	case want != "" && want != "json" && (!errors.As(err, &v) || v.Rule != want):
		t.Fatalf("got %v, want violation of %s", err, want)
	}
}

func TestInspectExecAndVolume(t *testing.T) {
	checkInspect(t, inspectBody(bodyExecCreate, []byte(`{"Cmd":["sh"],"privileged":true}`), ciRules), "container_create.allow_privileged")
	checkInspect(t, inspectBody(bodyExecCreate, []byte(`{"Cmd":["sh"]}`), ciRules), "")
	checkInspect(t, inspectBody(bodyVolumeCreate, []byte(`{"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"/"}}`), ciRules), "container_create.bind_prefixes")
	checkInspect(t, inspectBody(bodyVolumeCreate, []byte(`{"Name":"v","DriverOpts":{"DEVICE":"/etc"}}`), ciRules), "container_create.bind_prefixes")
	checkInspect(t, inspectBody(bodyVolumeCreate, []byte(`{"Name":"v","DriverOpts":{"device":"/srv/ci/v"}}`), ciRules), "")
	checkInspect(t, inspectBody(bodyVolumeCreate, []byte(`{"Name":"v"}`), ciRules), "")
	// A legacy start body (API < 1.24) is a host config, top-level or under
	// "HostConfig"; no body is the usual start.
	checkInspect(t, inspectBody(bodyContainerStart, nil, ciRules), "")
	checkInspect(t, inspectBody(bodyContainerStart, []byte(`{}`), ciRules), "")
	checkInspect(t, inspectBody(bodyContainerStart, []byte(`{"Binds":["/etc:/x"]}`), ciRules), "container_create.bind_prefixes")
	checkInspect(t, inspectBody(bodyContainerStart, []byte(`{"HostConfig":{"Privileged":true}}`), ciRules), "container_create.allow_privileged")
	checkInspect(t, inspectBody(bodyContainerStart, []byte(`{"NetworkMode":"host"}`), ciRules), "container_create.allow_host_network")
	checkInspect(t, inspectBody(bodyContainerStart, []byte(`null`), ciRules), "json")
	open := &config.EngineCreateRules{AllowPrivileged: true, AllowHostNetwork: true, BindPrefixes: []string{"/"}}
	checkInspect(t, inspectBody(bodyContainerCreate, []byte(`{"HostConfig":{"Privileged":true,"NetworkMode":"host","Binds":["/etc:/x"]}}`), open), "")
	capOK := &config.EngineCreateRules{AllowCapabilities: []string{"NET_ADMIN", "cap_audit_control"}}
	checkInspect(t, inspectBody(bodyContainerCreate, []byte(`{"HostConfig":{"CapAdd":["CAP_NET_ADMIN","AUDIT_CONTROL"]}}`), capOK), "")
	checkInspect(t, inspectBody(bodyContainerCreate, []byte(`{"HostConfig":{"CapAdd":["SYS_ADMIN"]}}`), capOK), "container_create.allow_capabilities")
}

// MobyHostConfig and mobyWrapper reproduce how dockerd (API < 1.44)
// decodes a create body, as the fuzz oracle: the first JSON value of the
// stream, with a host config embedded at the top level that applies when
// "HostConfig" is absent.
type MobyHostConfig struct {
	Binds       []string
	Mounts      []struct{ Type, Source string }
	NetworkMode string
	PidMode     string
	Privileged  bool
}

type mobyWrapper struct {
	Image           string
	InnerHostConfig *MobyHostConfig `json:"HostConfig,omitempty"`
	*MobyHostConfig
}

// FuzzInspectContainerCreate checks that no body the inspector passes is
// privileged, host-networked, host-pid or binds a host path outside the
// allowed prefix as dockerd would read it.
func FuzzInspectContainerCreate(f *testing.F) {
	for _, s := range []string{
		`{"Image":"busybox","HostConfig":{"Privileged":true}}`,
		`{"Privileged":true}`,
		`{"hostconfig":{"binds":["/etc:/x"]}}`,
		`{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/srv/ci/../../etc"}]}}`,
		`{"HostConfig":{"NetworkMode":"host"}}`,
		`{"Image":"busybox"} {"Privileged":true}`,
		`{"HostConfig":{"Privileged":true},"HostConfig":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if inspectBody(bodyContainerCreate, body, ciRules) != nil {
			return
		}
		var w mobyWrapper
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&w); err != nil {
			return
		}
		hc := w.MobyHostConfig
		if w.InnerHostConfig != nil {
			hc = w.InnerHostConfig
		}
		if hc == nil {
			return
		}
		if hc.Privileged || strings.EqualFold(hc.NetworkMode, "host") || strings.HasPrefix(strings.ToLower(hc.PidMode), "host") {
			t.Fatalf("passed a dangerous body: %s", body)
		}
		for _, b := range hc.Binds {
			src, _, ok := strings.Cut(b, ":")
			if ok && strings.HasPrefix(src, "/") && !strings.HasPrefix(path.Clean(src)+"/", "/srv/ci/") {
				t.Fatalf("passed bind %q: %s", b, body)
			}
		}
		for _, m := range hc.Mounts {
			if m.Type == "bind" && !strings.HasPrefix(path.Clean(m.Source)+"/", "/srv/ci/") {
				t.Fatalf("passed mount %q: %s", m.Source, body)
			}
		}
	})
}

package apigw

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsAndAuditLog(t *testing.T) {
	testenv.Integration(t)
	g, sec := startCyphernodeGW(t, "")
	g.do(t, "GET", "/v0/getbestblockhash", fresh("001", sec["001"], 10*time.Second)).want(t, 200, "")
	g.do(t, "GET", "/v0/spend", fresh("001", sec["001"], 10*time.Second)).want(t, 403, ReasonForbidden)
	g.do(t, "GET", "/v0/spend", fresh("777", sec["001"], 10*time.Second)).want(t, 401, ReasonUnknownKey)
	// The fast server sends an answer before the audit line and the
	// metrics are written: wait for the last one's line.
	for deadline := time.Now().Add(5 * time.Second); strings.Count(g.logs.String(), `"msg":"apigw request"`) < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}

	if n := testutil.ToFloat64(g.gw.metrics.requests.WithLabelValues("/v0", "001", "200")); n != 1 {
		t.Errorf("requests{/v0,001,200} = %v", n)
	}
	if n := testutil.ToFloat64(g.gw.metrics.refusals.WithLabelValues("/v0", "001", "forbidden")); n != 1 {
		t.Errorf("refusals{/v0,001,forbidden} = %v", n)
	}
	// An unverified id never becomes a label.
	if n := testutil.ToFloat64(g.gw.metrics.refusals.WithLabelValues("", "", "unknown_key")); n != 1 {
		t.Errorf("refusals{,,unknown_key} = %v", n)
	}
	if n, err := testutil.GatherAndCount(g.reg, "portcullis_apigw_upstream_seconds"); err != nil || n != 1 {
		t.Errorf("upstream_seconds series: %d, %v", n, err)
	}
	out, _ := testutil.CollectAndLint(g.gw.metrics.requests)
	if len(out) > 0 {
		t.Errorf("lint: %v", out)
	}

	var lines []map[string]any
	for _, l := range strings.Split(g.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "apigw request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("want 3 audit lines, got %d", len(lines))
	}
	first := lines[0]
	if first["key_id"] != "001" || first["route"] != "/v0" || first["status"] != float64(200) || first["duration"] == nil {
		t.Fatalf("audit line %v", first)
	}
	if lines[2]["key_id"] != "" || lines[2]["reason"] != "unknown_key" {
		t.Fatalf("audit line %v", lines[2])
	}
}

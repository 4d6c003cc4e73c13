package acl

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden")

// TestGolden evaluates testdata/golden/NAME.cases against NAME.yaml and
// compares the decisions with NAME.golden. A case line is
//
//	SUBJECT... | SCOPE
//
// where SUBJECT is "anonymous" or an account name followed by any of
// admin, label:K=V, ip:ADDR, service:S (service defaults to "registry").
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden rule files: %v", err)
	}
	for _, rulesFile := range files {
		base := strings.TrimSuffix(rulesFile, ".yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			src, err := os.ReadFile(rulesFile)
			if err != nil {
				t.Fatal(err)
			}
			rules, err := decodeStrict(t, string(src))
			if err != nil {
				t.Fatal(err)
			}
			a := mustNew(t, rules)
			cases, err := os.Open(base + ".cases")
			if err != nil {
				t.Fatal(err)
			}
			defer cases.Close()
			var out strings.Builder
			sc := bufio.NewScanner(cases)
			for sc.Scan() {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					out.WriteString(line + "\n")
					continue
				}
				subjText, scope, ok := strings.Cut(line, "|")
				if !ok {
					t.Fatalf("bad case line %q", line)
				}
				s := parseSubject(t, subjText)
				d := a.Authorize(s, req(t, strings.TrimSpace(scope)))
				fmt.Fprintf(&out, "%s\n\t=> %s\n", line, describe(d))
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			golden := base + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if out.String() != string(want) {
				t.Fatalf("decisions differ from %s:\n--- got\n%s--- want\n%s", golden, out.String(), want)
			}
		})
	}
}

func describe(d Decision) string {
	var what string
	switch {
	case d.Denied:
		what = "denied"
	case len(d.Allowed) == 0:
		what = "nothing"
	default:
		what = strings.Join(d.Allowed, ",")
	}
	if d.Rule < 0 {
		return what + " (no rule)"
	}
	return fmt.Sprintf("%s (rule %d: %s)", what, d.Rule, d.Comment)
}

func parseSubject(t *testing.T, text string) Subject {
	t.Helper()
	f := strings.Fields(text)
	if len(f) == 0 {
		t.Fatalf("empty subject")
	}
	s := Subject{Service: "registry", Labels: map[string][]string{}}
	if f[0] == "anonymous" {
		s.Anonymous = true
	} else {
		s.Account = f[0]
	}
	for _, w := range f[1:] {
		switch {
		case w == "admin":
			s.Admin = true
		case strings.HasPrefix(w, "label:"):
			k, v, _ := strings.Cut(strings.TrimPrefix(w, "label:"), "=")
			s.Labels[k] = append(s.Labels[k], v)
		case strings.HasPrefix(w, "ip:"):
			s.IP = netip.MustParseAddr(strings.TrimPrefix(w, "ip:"))
		case strings.HasPrefix(w, "service:"):
			s.Service = strings.TrimPrefix(w, "service:")
		default:
			t.Fatalf("bad subject word %q", w)
		}
	}
	return s
}

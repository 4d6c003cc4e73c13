package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override. A scalar field is set from
// PORTCULLIS_ followed by its YAML path in upper case with "_" between
// levels: server.addr is PORTCULLIS_SERVER_ADDR, token.expiration is
// PORTCULLIS_TOKEN_EXPIRATION. Lists and maps are not overridable.
const EnvPrefix = "PORTCULLIS_"

var durationType = reflect.TypeOf(time.Duration(0))

func applyEnv(c *Config, env func(string) (string, bool)) error {
	return walkEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "", env)
}

func walkEnv(v reflect.Value, envName, yamlPath string, env func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := envName + "_" + strings.ToUpper(tag)
		path := strings.TrimPrefix(yamlPath+"."+tag, ".")
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := walkEnv(fv, name, path, env); err != nil {
				return err
			}
			continue
		}
		raw, ok := env(name)
		if !ok {
			continue
		}
		if err := setScalar(fv, raw); err != nil {
			return fmt.Errorf("environment %s (%s): %w", name, path, err)
		}
	}
	return nil
}

func setScalar(fv reflect.Value, raw string) error {
	switch {
	case fv.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(n))
	case fv.Kind() == reflect.Pointer:
		// *bool and *time.Duration: set means "given", even when zero.
		p := reflect.New(fv.Type().Elem())
		if err := setScalar(p.Elem(), raw); err != nil {
			return err
		}
		fv.Set(p)
	}
	return nil
}

// EnvNames lists every environment override the configuration reads.
func EnvNames() []string {
	var names []string
	var walk func(t reflect.Type, envName string)
	walk = func(t reflect.Type, envName string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			name := envName + "_" + strings.ToUpper(tag)
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, name)
			case f.Type.Kind() == reflect.Slice, f.Type.Kind() == reflect.Map:
				// not overridable
			default:
				names = append(names, name)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), strings.TrimSuffix(EnvPrefix, "_"))
	return names
}

// otherEnv are PORTCULLIS_ variables read outside the configuration.
var otherEnv = []string{"PORTCULLIS_CONFIG", "PORTCULLIS_REQUIRE_COMPONENTS"}

// UnknownEnv returns a warning for each PORTCULLIS_ variable in environ
// ("NAME=value" strings) that sets nothing, so that a misspelt override
// (PORTCULLIS_STORE_DNS) does not go unnoticed; also names other
// variables the caller reads (an engine token_env). A near miss names the
// setting meant. Values are never repeated: they may be secrets.
func UnknownEnv(environ []string, also ...string) []string {
	known := map[string]bool{}
	all := EnvNames()
	for _, n := range slices.Concat(all, otherEnv, also) {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || known[name] {
			continue
		}
		msg := "environment variable " + name + " is not a Portcullis setting and is ignored"
		if near := nearest(name, all); near != "" {
			msg += " (did you mean " + near + "?)"
		}
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}

// nearest returns the name within edit distance 2 of s, or "".
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n, bestD); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it
// is at least limit.
func editDistance(a, b string, limit int) int {
	if abs(len(a)-len(b)) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

package apigw

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Key is one client key.
type Key struct {
	ID string
	// Secret is the 64 hex characters the client holds; the HMAC key is
	// these ASCII bytes, not the bytes they encode.
	Secret []byte
	Groups []string
	groups map[string]struct{}
	// groupsHeader is Groups joined with commas, as forwarded upstream.
	groupsHeader string
	// macs lends HMAC-SHA256 states keyed with Secret: keying one costs
	// more than the MAC of a token.
	macs *sync.Pool
}

func newKey(id, secret string, groups []string) *Key {
	k := &Key{ID: id, Secret: []byte(secret), groups: make(map[string]struct{}, len(groups))}
	for _, g := range groups {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if _, dup := k.groups[g]; !dup {
			k.Groups = append(k.Groups, g)
			k.groups[g] = struct{}{}
		}
	}
	k.groupsHeader = strings.Join(k.Groups, ",")
	k.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, k.Secret) }}
	return k
}

// InGroup reports whether the key has group g, compared exactly.
func (k *Key) InGroup(g string) bool {
	_, ok := k.groups[g]
	return ok
}

// ValidSecret reports whether s can be a key's secret (the gateway
// refuses any other).
func ValidSecret(s string) bool { return validSecret(s) }

// validSecret accepts 32 to 128 hex characters: cyphernode keys are 64.
func validSecret(s string) bool {
	if len(s) < 32 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// maxKeyFileBytes bounds a keys.properties file.
const maxKeyFileBytes = 16 << 20

// ReadKeyFile reads a keys.properties file; a missing file holds no keys.
func ReadKeyFile(path string) (map[string]*Key, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]*Key{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("keys file %s: larger than %d bytes", path, maxKeyFileBytes)
	}
	ks, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	return ks, nil
}

// ParseKeyFile parses keys.properties in either format, one key a line:
//
//	key001=2df1ee...                      (seed format: id 001, no groups)
//	kapi_id="003";kapi_key="<hex>";kapi_groups="stats,watcher";eval ...
//
// Blank lines and lines starting with # are skipped. Errors name the line
// but never show a key.
func ParseKeyFile(data []byte) (map[string]*Key, error) {
	out := map[string]*Key{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var (
			k   *Key
			err error
		)
		if strings.HasPrefix(line, "kapi_") {
			k, err = parseKapiLine(line)
		} else {
			k, err = parseSeedLine(line)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if _, dup := out[k.ID]; dup {
			return nil, fmt.Errorf("line %d: key id %q appears twice", n, k.ID)
		}
		out[k.ID] = k
	}
	if err := lineErr(sc, n); err != nil {
		return nil, err
	}
	return out, nil
}

// maxLineBytes bounds one line of keys.properties or api.properties.
const maxLineBytes = 64 << 10

// lineErr is the scanner's error, naming line n when it is too long.
func lineErr(sc *bufio.Scanner, n int) error {
	err := sc.Err()
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("line %d: longer than %d bytes", n, maxLineBytes)
	}
	return err
}

func parseSeedLine(line string) (*Key, error) {
	name, secret, ok := strings.Cut(line, "=")
	name, secret = strings.TrimSpace(name), unquote(strings.TrimSpace(secret))
	id, hasPrefix := strings.CutPrefix(name, "key")
	if !ok || !hasPrefix || !validKeyID(id) {
		return nil, errors.New("expected keyID=HEX (key001=<hex>) or kapi_id=<id>;kapi_key=<hex>;kapi_groups=<groups>")
	}
	if !validSecret(secret) {
		return nil, fmt.Errorf("key %q: secret must be 32 to 128 hex characters", id)
	}
	return newKey(id, secret, nil), nil
}

// parseKapiLine reads cyphernode's shell line; the eval parts after the
// assignments are ignored.
func parseKapiLine(line string) (*Key, error) {
	var id, secret, groups string
	var haveID, haveKey bool
	for _, part := range strings.Split(line, ";") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch name {
		case "kapi_id":
			id, haveID = unquote(val), true
		case "kapi_key":
			secret, haveKey = unquote(val), true
		case "kapi_groups":
			groups = unquote(val)
		}
	}
	if !haveID || !validKeyID(id) {
		return nil, fmt.Errorf("kapi_id must be letters, digits, - or _")
	}
	if !haveKey || !validSecret(secret) {
		return nil, fmt.Errorf("key %q: kapi_key must be 32 to 128 hex characters", id)
	}
	return newKey(id, secret, strings.Split(groups, ",")), nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// ParseAPIProperties parses cyphernode's api.properties: action_NAME=GROUP
// lines (a comma-separated list of groups is also taken), comments and
// blank lines. cyphernode sources the file with sh, so it is read the same
// way: a later line for an action replaces an earlier one, the value may be
// quoted, and a # comment may follow it.
func ParseAPIProperties(data []byte) (map[string][]string, error) {
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		action, isAction := strings.CutPrefix(strings.TrimSpace(name), "action_")
		if !ok || !isAction || action == "" || strings.ContainsAny(action, "/ \t") {
			return nil, fmt.Errorf("line %d: expected action_NAME=GROUP", n)
		}
		val, ok = shellWord(strings.TrimSpace(val))
		if !ok {
			return nil, fmt.Errorf("line %d: action %q: the value must be one word or quoted, optionally followed by a # comment", n, action)
		}
		var groups []string
		for _, g := range strings.Split(val, ",") {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, g)
			}
		}
		if len(groups) == 0 {
			return nil, fmt.Errorf("line %d: action %q has no group", n, action)
		}
		out[action] = groups // as sh does, the last line wins
	}
	if err := lineErr(sc, n); err != nil {
		return nil, err
	}
	return out, nil
}

// shellWord reads the value of a sh assignment: a word up to the first
// blank, or a single- or double-quoted string, then nothing but blanks and
// an optional # comment.
func shellWord(v string) (string, bool) {
	var word, rest string
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		end := strings.IndexByte(v[1:], v[0])
		if end < 0 {
			return "", false
		}
		word, rest = v[1:1+end], v[2+end:]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return "", false
		}
	} else if i := strings.IndexAny(v, " \t"); i >= 0 {
		word, rest = v[:i], v[i:]
	} else {
		word = v
	}
	if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
		return "", false
	}
	return word, true
}

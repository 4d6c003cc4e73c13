package acl

import (
	"errors"
	"regexp"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Limits of placeholder expansion. Exceeding one makes Authorize fail
// closed (nothing granted), never skip the rule: a skipped deny rule
// could let a later rule grant.
const (
	// MaxExpandedLength bounds the RE2 source of one expanded pattern.
	MaxExpandedLength = 16 << 10
	// MaxExpansions bounds how many expansions one pattern may need when
	// a multi-valued label placeholder appears more than once in it.
	MaxExpansions = 64
	// cacheSize bounds the compiled expansions kept between calls.
	cacheSize = 4096
)

var errExpansion = errors.New("placeholder expansion over limits")

// regexCache keeps compiled expansions of placeholder patterns, keyed by
// their RE2 source; a nil entry records a source that does not compile.
type regexCache struct {
	c *lru.Cache[string, *regexp.Regexp]
}

func newRegexCache() *regexCache {
	c, err := lru.New[string, *regexp.Regexp](cacheSize)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &regexCache{c: c}
}

func (rc *regexCache) get(src string) *regexp.Regexp {
	if re, ok := rc.c.Get(src); ok {
		return re
	}
	re, err := regexp.Compile(src)
	if err != nil {
		re = nil
	}
	rc.c.Add(src, re)
	return re
}

// labelValues returns the distinct non-empty values of the label a
// ${labels:KEY} placeholder names; none means it cannot be substituted.
func labelValues(s *Subject, key string) []string {
	var out []string
	for _, v := range s.Labels[strings.TrimPrefix(key, "labels:")] {
		if v != "" && !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// match reports whether name matches the template filled in with the
// subject's values. Each value is quoted (regexp.QuoteMeta) and put in a
// group, so it only ever matches itself. A key used once with several
// values becomes an alternation, which is exactly "any value matches";
// a key used more than once must take the same value everywhere, so its
// values are tried one combination at a time.
func (t *template) match(rc *regexCache, s *Subject, name string) (bool, error) {
	// Most templates have one or two keys: keep the scratch on the stack.
	var valsBuf [4][]string
	var choiceBuf [4]int
	vals, choice := valsBuf[:0], choiceBuf[:0]
	if len(t.keys) > len(valsBuf) {
		vals, choice = make([][]string, 0, len(t.keys)), make([]int, 0, len(t.keys))
	}
	vals, choice = vals[:len(t.keys)], choice[:len(t.keys)]
	var account [1]string
	combos := 1
	for i, k := range t.keys {
		if k == "account" {
			// An account holding "/" cannot be filled in: "alice/ci" in
			// ${account}/** would reach alice/ci/app, which the same rule
			// gives alice. A repository path component never holds "/",
			// so no real namespace is lost.
			if s.Anonymous || s.Account == "" || strings.IndexByte(s.Account, '/') >= 0 {
				return false, nil
			}
			account[0] = s.Account
			vals[i] = account[:]
			continue
		}
		vals[i] = labelValues(s, k)
		if len(vals[i]) == 0 {
			return false, nil
		}
		if t.uses[i] > 1 {
			combos *= len(vals[i])
			if combos > MaxExpansions {
				return false, errExpansion
			}
		}
	}
	for {
		re, err := t.compile(rc, vals, choice)
		if err != nil {
			return false, err
		}
		if re.MatchString(name) {
			return true, nil
		}
		if !next(choice, vals, t.uses) {
			return false, nil
		}
	}
}

// next advances choice to the next combination of repeated keys.
func next(choice []int, vals [][]string, uses []int) bool {
	for i := range choice {
		if uses[i] < 2 {
			continue
		}
		choice[i]++
		if choice[i] < len(vals[i]) {
			return true
		}
		choice[i] = 0
	}
	return false
}

func (t *template) compile(rc *regexCache, vals [][]string, choice []int) (*regexp.Regexp, error) {
	var b strings.Builder
	b.Grow(len(t.head) + len(t.tail) + 64)
	b.WriteString(t.head)
	for _, pc := range t.pieces {
		if pc.ph < 0 {
			b.WriteString(pc.src)
		} else {
			b.WriteString("(?:")
			if t.uses[pc.ph] > 1 {
				b.WriteString(regexp.QuoteMeta(vals[pc.ph][choice[pc.ph]]))
			} else {
				for i, v := range vals[pc.ph] {
					if i > 0 {
						b.WriteByte('|')
					}
					b.WriteString(regexp.QuoteMeta(v))
				}
			}
			b.WriteString(")")
		}
		if b.Len() > MaxExpandedLength {
			return nil, errExpansion
		}
	}
	b.WriteString(t.tail)
	re := rc.get(b.String())
	if re == nil {
		return nil, errExpansion
	}
	return re, nil
}

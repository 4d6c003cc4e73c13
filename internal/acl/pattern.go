package acl

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// MaxPatternLength bounds every pattern of a rule.
const MaxPatternLength = 1024

type patternKind uint8

const (
	patAny patternKind = iota
	patLiteral
	patRegexp
	patTemplate
)

// pattern is a compiled string matcher: exact, glob or /regex/.
type pattern struct {
	kind patternKind
	lit  string
	re   *regexp.Regexp
	tmpl *template
}

// template is a pattern with placeholders: RE2 source pieces completed
// with the subject's quoted values at match time.
type template struct {
	head, tail string
	pieces     []piece
	keys       []string
	uses       []int
}

// isRegex reports whether s is written as /regex/.
func isRegex(s string) bool { return len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/' }

// compilePattern compiles an exact string, glob or /regex/. allowPH
// permits ${account} and ${labels:KEY} placeholders.
func compilePattern(s string, allowPH bool) (*pattern, error) {
	if len(s) > MaxPatternLength {
		return nil, fmt.Errorf("pattern longer than %d bytes", MaxPatternLength)
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("invalid UTF-8")
	}
	if s == "" || s == "**" {
		return &pattern{kind: patAny}, nil
	}
	if isRegex(s) {
		return compileRegex(s[1:len(s)-1], allowPH)
	}
	p, err := translateGlob(s, allowPH)
	if err != nil {
		return nil, fmt.Errorf("invalid glob %q: %w", s, err)
	}
	if !p.meta {
		return &pattern{kind: patLiteral, lit: p.literal.String()}, nil
	}
	const head, tail = `\A(?s:`, `)\z`
	if len(p.keys) > 0 {
		return &pattern{kind: patTemplate, tmpl: &template{head: head, tail: tail, pieces: p.list, keys: p.keys, uses: p.uses}}, nil
	}
	var b strings.Builder
	b.WriteString(head)
	for _, pc := range p.list {
		b.WriteString(pc.src)
	}
	b.WriteString(tail)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("invalid glob %q: %w", s, err)
	}
	return &pattern{kind: patRegexp, re: re}, nil
}

const sentinelPrefix = "portcullisPlaceholder"

// compileRegex compiles the body of a /regex/, anchored at both ends.
// Placeholders must stand where an atom may (not inside [ ] or \Q..\E):
// that is checked by putting a uniquely named capture group in each and
// finding every one of them in the parsed expression.
func compileRegex(body string, allowPH bool) (*pattern, error) {
	if body == "" {
		return nil, errors.New("empty regex")
	}
	p := &pieces{}
	var test strings.Builder
	for i := 0; i < len(body); {
		j := strings.Index(body[i:], "${")
		if j < 0 {
			p.lit(body[i:])
			test.WriteString(body[i:])
			break
		}
		if !allowPH {
			return nil, errors.New("placeholders are only allowed in match.name")
		}
		p.lit(body[i : i+j])
		test.WriteString(body[i : i+j])
		key, n, err := parsePlaceholder(body[i+j:])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&test, "(?P<%s%d>x)", sentinelPrefix, len(p.list))
		p.placeholder(key)
		i += j + n
	}
	const head, tail = `\A(?:`, `)\z`
	if len(p.keys) == 0 {
		re, err := regexp.Compile(head + body + tail)
		if err != nil {
			return nil, fmt.Errorf("invalid regex: %w", err)
		}
		return &pattern{kind: patRegexp, re: re}, nil
	}
	tree, err := syntax.Parse(test.String(), syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid regex: %w", err)
	}
	want := 0
	for _, pc := range p.list {
		if pc.ph >= 0 {
			want++
		}
	}
	if got := countSentinels(tree); got != want {
		return nil, errors.New("invalid regex: placeholders must stand outside [ ] and \\Q..\\E")
	}
	if _, err := regexp.Compile(head + test.String() + tail); err != nil {
		return nil, fmt.Errorf("invalid regex: %w", err)
	}
	return &pattern{kind: patTemplate, tmpl: &template{head: head, tail: tail, pieces: p.list, keys: p.keys, uses: p.uses}}, nil
}

func countSentinels(re *syntax.Regexp) int {
	n := 0
	if re.Op == syntax.OpCapture && strings.HasPrefix(re.Name, sentinelPrefix) {
		n++
	}
	for _, sub := range re.Sub {
		n += countSentinels(sub)
	}
	return n
}

// matchStatic matches patterns without placeholders.
func (p *pattern) matchStatic(s string) bool {
	switch p.kind {
	case patAny:
		return true
	case patLiteral:
		return s == p.lit
	case patRegexp:
		return p.re.MatchString(s)
	}
	return false
}

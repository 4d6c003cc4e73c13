package acl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// piece is a fragment of a pattern translated to RE2 syntax: literal
// regexp source, or a placeholder (ph >= 0, an index into the pattern's
// placeholder keys) filled in at match time.
type piece struct {
	src string
	ph  int
}

type pieces struct {
	list    []piece
	keys    []string // distinct placeholder keys: "account" or "labels:KEY"
	uses    []int    // occurrences per key
	meta    bool     // the pattern has wildcards, classes or placeholders
	literal strings.Builder
}

func (p *pieces) lit(src string) {
	if n := len(p.list); n > 0 && p.list[n-1].ph < 0 {
		p.list[n-1].src += src
		return
	}
	p.list = append(p.list, piece{src: src, ph: -1})
}

func (p *pieces) placeholder(key string) {
	p.meta = true
	for i, k := range p.keys {
		if k == key {
			p.uses[i]++
			p.list = append(p.list, piece{ph: i})
			return
		}
	}
	p.keys = append(p.keys, key)
	p.uses = append(p.uses, 1)
	p.list = append(p.list, piece{ph: len(p.keys) - 1})
}

// parsePlaceholder reads "${account}" or "${labels:KEY}" at the start of
// s and returns its key and length.
func parsePlaceholder(s string) (string, int, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", 0, errors.New("unclosed ${")
	}
	key := s[2:end]
	switch {
	case key == "account":
	case strings.HasPrefix(key, "labels:") && len(key) > len("labels:"):
	default:
		return "", 0, fmt.Errorf("unknown placeholder ${%s} (use ${account} or ${labels:KEY})", key)
	}
	return key, end + 1, nil
}

// translateGlob turns a glob into RE2 pieces:
//
//   - any run of characters other than /
//     **   any run of characters including /; as a whole segment it also
//     matches no segment ("**/b" matches "b", "a/**/b" matches "a/b"),
//     except at the end: "a/**" needs at least one character after "a/"
//     ?    one character other than /
//     [..] a character class ([a-z], [!a-z] or [^a-z]); it never matches /
//     \c   the character c itself
//
// Placeholders are allowed only when allowPH is set.
func translateGlob(g string, allowPH bool) (*pieces, error) {
	p := &pieces{}
	for i := 0; i < len(g); {
		c := g[i]
		switch {
		case c == '$' && i+1 < len(g) && g[i+1] == '{':
			if !allowPH {
				return nil, errors.New("placeholders are only allowed in match.name")
			}
			key, n, err := parsePlaceholder(g[i:])
			if err != nil {
				return nil, err
			}
			p.placeholder(key)
			i += n
		case c == '\\':
			if i+1 >= len(g) {
				return nil, errors.New("trailing backslash")
			}
			_, size := utf8.DecodeRuneInString(g[i+1:])
			ch := g[i+1 : i+1+size]
			p.lit(regexp.QuoteMeta(ch))
			p.literal.WriteString(ch)
			i += 1 + size
		case c == '*':
			j := i
			for j < len(g) && g[j] == '*' {
				j++
			}
			p.meta = true
			if j-i == 1 {
				p.lit(`[^/]*`)
				i = j
				continue
			}
			segStart := i == 0 || g[i-1] == '/'
			switch {
			case segStart && j < len(g) && g[j] == '/':
				p.lit(`(?:.*/)?`)
				j++
			case i > 0 && g[i-1] == '/' && j == len(g):
				p.lit(`.+`)
			default:
				p.lit(`.*`)
			}
			i = j
		case c == '?':
			p.meta = true
			p.lit(`[^/]`)
			i++
		case c == '[':
			src, n, err := translateClass(g[i:])
			if err != nil {
				return nil, err
			}
			p.meta = true
			p.lit(src)
			i += n
		default:
			_, size := utf8.DecodeRuneInString(g[i:])
			p.lit(regexp.QuoteMeta(g[i : i+size]))
			p.literal.WriteString(g[i : i+size])
			i += size
		}
	}
	return p, nil
}

// translateClass translates the character class at the start of s and
// returns its RE2 form and the number of bytes consumed.
func translateClass(s string) (string, int, error) {
	j := 1
	neg := false
	if j < len(s) && (s[j] == '!' || s[j] == '^') {
		neg = true
		j++
	}
	var b strings.Builder
	b.WriteString("[")
	if neg {
		b.WriteString(`^/`)
	}
	first := true
	for {
		if j >= len(s) {
			return "", 0, errors.New("unclosed [")
		}
		if s[j] == ']' && !first {
			j++
			break
		}
		first = false
		lo, n, err := classChar(s[j:])
		if err != nil {
			return "", 0, err
		}
		j += n
		hi := lo
		if j+1 < len(s) && s[j] == '-' && s[j+1] != ']' {
			hi, n, err = classChar(s[j+1:])
			if err != nil {
				return "", 0, err
			}
			j += 1 + n
			if hi < lo {
				return "", 0, fmt.Errorf("invalid range %q-%q in [ ]", lo, hi)
			}
		}
		if !neg && lo <= '/' && '/' <= hi {
			return "", 0, errors.New("a character class cannot match /")
		}
		fmt.Fprintf(&b, `\x{%x}`, lo)
		if hi != lo {
			fmt.Fprintf(&b, `-\x{%x}`, hi)
		}
	}
	b.WriteString("]")
	return b.String(), j, nil
}

func classChar(s string) (rune, int, error) {
	n := 0
	if s[0] == '\\' {
		if len(s) < 2 {
			return 0, 0, errors.New("trailing backslash")
		}
		n = 1
	} else if s[0] == '$' && len(s) > 1 && s[1] == '{' {
		return 0, 0, errors.New("placeholders cannot be used inside [ ]")
	}
	r, size := utf8.DecodeRuneInString(s[n:])
	if r == utf8.RuneError && size <= 1 {
		return 0, 0, errors.New("invalid UTF-8")
	}
	return r, n + size, nil
}

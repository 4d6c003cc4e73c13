package apptoken

import (
	"strconv"
	"strings"
	"time"
)

// MaxExpiry is the longest lifetime ParseExpiry accepts (10 years).
const MaxExpiry = 10 * 365 * 24 * time.Hour

// ParseExpiry reads a token lifetime: a number followed by d (days) or w
// (weeks), or a Go duration ("12h", "90m"). "never" and "0" mean no
// expiry (0 is returned).
func ParseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "never" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, unit := len(s)-1, ""; n > 0 {
		unit = s[n:]
		mult := map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[unit]
		if mult != 0 {
			v, err := strconv.ParseUint(s[:n], 10, 32)
			if err != nil || v > uint64(MaxExpiry/mult) {
				return 0, invalid("expiry %q: want a number of days or weeks (90d, 2w) up to 10 years", s)
			}
			d = time.Duration(v) * mult
		}
	}
	if d == 0 {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, invalid("expiry %q: want a duration such as 90d, 2w or 12h, or never", s)
		}
	}
	if d <= 0 || d > MaxExpiry {
		return 0, invalid("expiry %q: must be positive and at most 10 years", s)
	}
	return d, nil
}

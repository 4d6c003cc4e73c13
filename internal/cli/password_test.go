package cli

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Passwords piped into the CLI (hash, user add, ldap test) are one line:
// empty and overlong lines are refused with a message, the line end is
// not part of the password.
func TestPasswordFromStdin(t *testing.T) {
	for _, tc := range []struct {
		name, stdin, want, wantErr string
	}{
		{"line", "s3cret-pass\n", "s3cret-pass", ""},
		{"CRLF", "s3cret-pass\r\n", "s3cret-pass", ""},
		{"no line end", "s3cret-pass", "s3cret-pass", ""},
		{"only the first line", "first\nsecond\n", "first", ""},
		{"longest", strings.Repeat("p", maxPasswordLine) + "\r\n", "", "exceeds 72 bytes"}, // read whole, then bcrypt's own limit
		{"empty", "\n", "", "empty password"},
		{"nothing", "", "", "empty password"},
		{"a file piped in", strings.Repeat("x", 1<<20), "", "longer than 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runAPIKeyCLI(t, tc.stdin, "hash", "--cost", "4")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out)), []byte(tc.want)) != nil {
				t.Fatalf("hash %q is not of %q", out, tc.want)
			}
		})
	}
}

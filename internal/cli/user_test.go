package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestUserCommands(t *testing.T) {
	e := newCLIEnv(t, "")
	ctx := context.Background()
	steps := []struct {
		name    string
		stdin   string
		args    []string
		wantOut []string // substrings of stdout
		wantErr []string // substrings of the error; nil = success
	}{
		{"add admin", "root-pw\n", []string{"user", "add", "root", "--admin", "--password-stdin"}, []string{"Created administrator root"}, nil},
		{"add with labels", "alice-pw\n", []string{"user", "add", "alice", "--password-stdin", "--label", "team=a", "--label", "team=b", "--label", "site=x"}, []string{"Created user alice"}, nil},
		{"add twice", "x\n", []string{"user", "add", "alice", "--password-stdin"}, nil, []string{"alice already exists"}},
		{"bad name", "x\n", []string{"user", "add", "../evil", "--password-stdin"}, nil, []string{"user name"}},
		{"bad label", "x\n", []string{"user", "add", "dave", "--password-stdin", "--label", "novalue"}, nil, []string{"KEY=VALUE"}},
		{"empty password", "\n", []string{"user", "add", "dave", "--password-stdin"}, nil, []string{"empty password"}},
		{"long password", strings.Repeat("p", 73) + "\n", []string{"user", "add", "dave", "--password-stdin"}, nil, []string{"72 bytes"}},
		{"no terminal, no flag", "pw\n", []string{"user", "add", "dave"}, nil, []string{"--password-stdin"}},
		{"password as argument refused", "", []string{"user", "add", "dave", "--password", "pw"}, nil, []string{"unknown flag"}},
		{"list", "", []string{"user", "list"}, []string{"NAME", "root", "alice", "site=x,team=a,team=b"}, nil},
		{"disable last admin", "", []string{"user", "disable", "root"}, nil, []string{"last enabled administrator"}},
		{"remove last admin", "", []string{"user", "remove", "root"}, nil, []string{"last enabled administrator"}},
		{"disable alice", "", []string{"user", "disable", "alice"}, []string{"Disabled alice"}, nil},
		{"disable unknown", "", []string{"user", "disable", "nobody"}, nil, []string{"no database user nobody"}},
		{"passwd unknown", "pw\n", []string{"user", "passwd", "nobody", "--password-stdin"}, nil, []string{"no database user nobody"}},
		{"passwd", "alice-new\n", []string{"user", "passwd", "alice", "--password-stdin"}, []string{"Password of alice changed", "revoked"}, nil},
		{"enable alice", "", []string{"user", "enable", "alice"}, []string{"Enabled alice"}, nil},
		{"remove alice", "", []string{"user", "remove", "alice"}, []string{"Removed alice"}, nil},
		{"remove again", "", []string{"user", "remove", "alice"}, nil, []string{"no database user alice"}},
	}
	for _, s := range steps {
		out, errOut, err := e.run(t, s.stdin, s.args...)
		if s.wantErr == nil && err != nil {
			t.Fatalf("%s: %v\n%s%s", s.name, err, out, errOut)
		}
		if s.wantErr != nil {
			wantErr(t, err, s.wantErr...)
		}
		for _, w := range s.wantOut {
			if !strings.Contains(out, w) {
				t.Fatalf("%s: output lacks %q:\n%s", s.name, w, out)
			}
		}
		if strings.Contains(out+errOut, "root-pw") || strings.Contains(out+errOut, "alice-pw") {
			t.Fatalf("%s: a password was echoed", s.name)
		}

		// Check the store after the steps whose effect is not in the output.
		st := e.store(t)
		switch s.name {
		case "add with labels":
			u, err := st.GetUser(ctx, "alice")
			if err != nil || u.Admin || !slices.Equal(u.Labels["team"], []string{"a", "b"}) {
				t.Fatalf("alice: %+v %v", u, err)
			}
			if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("alice-pw")) != nil {
				t.Fatal("alice's password does not match the one piped in")
			}
			if c, _ := bcrypt.Cost(u.PasswordHash); c != 4 {
				t.Fatalf("bcrypt cost %d, want the configured 4", c)
			}
		case "disable alice":
			if u, _ := st.GetUser(ctx, "alice"); !u.Disabled {
				t.Fatal("alice not disabled")
			}
		case "passwd":
			u, _ := st.GetUser(ctx, "alice")
			if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("alice-new")) != nil {
				t.Fatal("password not changed")
			}
		case "enable alice":
			if u, _ := st.GetUser(ctx, "alice"); u.Disabled {
				t.Fatal("alice still disabled")
			}
		case "remove alice":
			if _, err := st.GetUser(ctx, "alice"); err == nil {
				t.Fatal("alice still exists")
			}
		}
	}
}

// A second admin lifts the last-admin guard.
func TestUserDisableAdminWhenAnotherExists(t *testing.T) {
	e := newCLIEnv(t, "")
	e.mustRun(t, "a\n", "user", "add", "root1", "--admin", "--password-stdin")
	e.mustRun(t, "b\n", "user", "add", "root2", "--admin", "--password-stdin")
	e.mustRun(t, "", "user", "disable", "root1")
	_, _, err := e.run(t, "", "user", "remove", "root2")
	wantErr(t, err, "last enabled administrator")
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/portcullis/portcullis/internal/acl"
	"github.com/portcullis/portcullis/internal/token"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// newACLCmd builds `portcullis acl` (access-control rules).
func newACLCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{Use: "acl", Short: "access-control rules of the registry token service"}
	cmd.AddCommand(newACLCheckCmd(a), newACLShowCmd(a))
	return cmd
}

// loadACL compiles the configured rules (or the default ones).
func loadACL(a *App) (*acl.ACL, bool, error) {
	cfg, err := a.Config()
	if err != nil {
		return nil, false, err
	}
	rules := cfg.ACL
	if cfg.ACLDefault {
		rules = acl.Default()
	}
	l, err := acl.New(rules)
	if err != nil {
		return nil, false, err
	}
	return l, cfg.ACLDefault, nil
}

func newACLShowCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "print the effective rules as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, def, err := loadACL(a)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if def {
				fmt.Fprintln(out, "# no acl section in the configuration: the default rules apply")
			}
			for i, r := range l.Rules() {
				fmt.Fprintf(out, "# acl[%d]\n", i)
				if err := writeRuleYAML(out, []acl.Rule{r}, ""); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

type aclCheckFlags struct {
	account   string
	anonymous bool
	admin     bool
	labels    []string
	ip        string
	service   string
	scopes    []string
}

func newACLCheckCmd(a *App) *cobra.Command {
	var f aclCheckFlags
	cmd := &cobra.Command{
		Use:   "check --account NAME --scope TYPE:NAME:ACTIONS [--scope ...]",
		Short: "show what the rules grant a subject for some scopes, and which rule decides",
		Example: `  portcullis acl check --account alice --scope repository:alice/app:pull,push
  portcullis acl check --anonymous --scope repository:library/alpine:pull
  portcullis acl check --account bob --label team=web --ip 10.0.0.7 --scope registry:catalog:*`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runACLCheck(a, cmd.OutOrStdout(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.account, "account", "", "account name of the subject")
	fl.BoolVar(&f.anonymous, "anonymous", false, "the subject is the anonymous user")
	fl.BoolVar(&f.admin, "admin", false, "the subject is an administrator")
	fl.StringArrayVar(&f.labels, "label", nil, "a label KEY=VALUE of the subject (repeatable; repeat a key for several values)")
	fl.StringVar(&f.ip, "ip", "", "client address of the subject")
	fl.StringVar(&f.service, "service", "", "registry service (default: token.service)")
	fl.StringArrayVar(&f.scopes, "scope", nil, "requested scope TYPE[(CLASS)]:NAME:ACTION[,ACTION] (repeatable)")
	_ = cmd.MarkFlagRequired("scope")
	return cmd
}

func runACLCheck(a *App, out io.Writer, f *aclCheckFlags) error {
	s, err := f.subject()
	if err != nil {
		return err
	}
	reqs := make([]acl.Request, 0, len(f.scopes))
	for _, sc := range f.scopes {
		r, err := parseScope(sc)
		if err != nil {
			return err
		}
		reqs = append(reqs, r)
	}
	l, def, err := loadACL(a)
	if err != nil {
		return err
	}
	if s.Service == "" {
		cfg, err := a.Config()
		if err != nil {
			return err
		}
		s.Service = cfg.Token.Service
	}
	rules := l.Rules()
	for i, r := range reqs {
		if i > 0 {
			fmt.Fprintln(out)
		}
		d := l.Authorize(s, r)
		fmt.Fprintln(out, f.scopes[i])
		switch {
		case d.Denied:
			fmt.Fprintln(out, "  granted: denied")
		case len(d.Allowed) == 0:
			fmt.Fprintln(out, "  granted: nothing granted")
		default:
			fmt.Fprintf(out, "  granted: %s\n", strings.Join(d.Allowed, ","))
		}
		if d.Rule < 0 {
			fmt.Fprintln(out, "  rule:    none matched")
			continue
		}
		where := "acl"
		if def {
			where = "default acl"
		}
		fmt.Fprintf(out, "  rule:    %s[%d]", where, d.Rule)
		if d.Comment != "" {
			fmt.Fprintf(out, " (%s)", d.Comment)
		}
		fmt.Fprintln(out)
		if err := writeRuleYAML(out, []acl.Rule{rules[d.Rule]}, "    "); err != nil {
			return err
		}
	}
	return nil
}

func (f *aclCheckFlags) subject() (acl.Subject, error) {
	s := acl.Subject{Account: f.account, Anonymous: f.anonymous, Admin: f.admin, Service: f.service}
	switch {
	case f.anonymous && f.account != "":
		return s, errors.New("give --account or --anonymous, not both")
	case f.anonymous && f.admin:
		return s, errors.New("the anonymous user cannot be an administrator")
	case !f.anonymous && f.account == "":
		return s, errors.New("give --account NAME or --anonymous")
	}
	for _, kv := range f.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return s, fmt.Errorf("--label %q: want KEY=VALUE", kv)
		}
		if s.Labels == nil {
			s.Labels = map[string][]string{}
		}
		s.Labels[k] = append(s.Labels[k], v)
	}
	if f.ip != "" {
		ip, err := netip.ParseAddr(f.ip)
		if err != nil {
			return s, fmt.Errorf("--ip: %w", err)
		}
		s.IP = ip
	}
	return s, nil
}

// parseScope reads a scope with the token service's own parser, so the
// check answers exactly what /token would.
func parseScope(s string) (acl.Request, error) {
	sc, err := token.ParseScope(s)
	if err != nil {
		return acl.Request{}, err
	}
	return acl.Request{Type: sc.Type, Class: sc.Class, Name: sc.Name, Actions: sc.Actions}, nil
}

func writeRuleYAML(out io.Writer, rules []acl.Rule, indent string) error {
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(rules); err != nil {
		return fmt.Errorf("print rule: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("print rule: %w", err)
	}
	for _, line := range strings.SplitAfter(strings.TrimRight(buf.String(), "\n"), "\n") {
		if _, err := io.WriteString(out, indent+strings.TrimRight(line, "\n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

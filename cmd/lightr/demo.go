package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/config"
)

func newDemoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo [--dir ./demo]",
		Short: "Create a demo configuration, organization, domain and account, then serve",
		Long: "Create (on first run) a configuration in DIR with every listener on loopback, " +
			"a demo organization, domain and account; print the GraphQL URL and fresh " +
			"credentials; then serve until interrupted.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(dir, config.FileName)
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				if _, err := app.Init(cmd.Context(), app.InitOptions{
					ConfigPath: path, Overrides: app.DemoOverrides(),
				}); err != nil {
					return err
				}
			}
			_ = cmd.Flags().Set("config", path)
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			adminKey, err := app.DemoAdminKey(cmd.Context(), a, filepath.Join(dir, "admin-key.txt"))
			if err != nil {
				return err
			}
			info, err := app.SeedDemo(cmd.Context(), a)
			if err != nil {
				return err
			}
			return a.Serve(cmd.Context(), func(addrs app.Addrs) {
				printDemo(cmd, addrs, adminKey, info)
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "demo", "directory for the demo configuration and data")
	return cmd
}

func printDemo(cmd *cobra.Command, addrs app.Addrs, adminKey string, info *app.DemoInfo) {
	w := cmd.OutOrStdout()
	addr := addrs.HTTP
	fmt.Fprintf(w, `
Lightr demo is running.

  GraphQL:       http://%[1]s/graphql   (GraphiQL: http://%[1]s/)
  Organization:  %[2]s
  Domain:        %[3]s
  Account:       %[4]s   password: %[5]s
  Tenant token (organization %[2]s, expires %[6]s):
    %[7]s
  Admin API key: %[8]s

Try:
  curl -s http://%[1]s/graphql -H 'Authorization: Bearer %[7]s' \
    -H 'Content-Type: application/json' \
    -d '{"query":"{ domains { edges { node { id name } } } accounts { edges { node { id email } } } }"}'

  SMTP (MX):     %[9]s
    swaks --server %[9]s --to %[4]s --from someone@example.org

  IMAP:          %[10]s (STARTTLS; self-signed certificate)
    curl -k --ssl-reqd 'imap://%[10]s/INBOX' --user '%[4]s:%[5]s'

  Submission:    %[11]s (STARTTLS, then AUTH)
    swaks --server %[11]s --tls --auth PLAIN --auth-user %[4]s --auth-password '%[5]s' \
      --from %[4]s --to %[4]s

`, addr, info.OrgID, info.DomainID, info.Email, info.Password,
		info.TokenExpires.Format("2006-01-02 15:04 MST"), info.Token, adminKey, addrs.SMTP, addrs.IMAP,
		addrs.Submission)
	if info.DKIMRecord != "" {
		fmt.Fprintf(w, "DKIM record to publish:\n  %s\n\n", info.DKIMRecord)
	}
}

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
)

func newTokenCmd() *cobra.Command {
	var org, scopes string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token --org ID [--scopes read,write,send,keys] [--ttl 24h]",
		Short: "Print a tenant token (JWT) for an organization",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			var list []string
			if scopes != "" {
				for _, s := range strings.Split(scopes, ",") {
					list = append(list, strings.TrimSpace(s))
				}
			}
			ctx := viewer.AdminContext(cmd.Context())
			t, err := a.Auth.IssueToken(ctx, pulid.ID(org), list, ttl)
			if err != nil {
				return err
			}
			if asJSON(cmd) {
				return printJSON(cmd.OutOrStdout(), map[string]any{
					"token": t.Token, "expires_at": t.ExpiresAt,
					"organization_id": t.OrgID, "scopes": t.Scopes,
				})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			return err
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "organization id (required)")
	cmd.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes (default: all)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime (default: jwt.default_ttl)")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

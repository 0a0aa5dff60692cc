package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/account"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
)

func newAddAccountCmd() *cobra.Command {
	var dom, email, displayName string
	var quota int64
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "add-account --domain ID|FQDN --email ADDR [--password-stdin]",
		Short: "Create an account with its standard mailboxes and print its id",
		Long: "Create an account. With --password-stdin the password is read from the first " +
			"line of standard input; otherwise one is generated and printed once, on stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var password string
			if passwordStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return errors.New("--password-stdin: no password on standard input")
				}
				password = strings.TrimRight(line, "\r\n")
				if password == "" {
					return errors.New("--password-stdin: the password is empty")
				}
			}
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			ctx := viewer.AdminContext(cmd.Context())
			d, err := directory.FindDomain(ctx, a.DB.Client, dom)
			if err != nil {
				return err
			}
			local, edom, err := directory.SplitAddress(email)
			if err != nil {
				return err
			}
			if edom != d.Name {
				return fmt.Errorf("--email %s is not in domain %s", email, d.Name)
			}
			in := ent.CreateAccountInput{LocalPart: local, DomainID: d.ID, QuotaBytes: &quota}
			if displayName != "" {
				in.DisplayName = &displayName
			}
			acc, generated, err := directory.CreateAccount(ctx, a.DB.Client, in, password)
			if err != nil {
				return err
			}
			if generated != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "password for %s (shown once): %s\n", acc.Email, generated)
			}
			return printCreated(cmd, string(acc.ID), acc)
		},
	}
	cmd.Flags().StringVar(&dom, "domain", "", "domain id or FQDN (required)")
	cmd.Flags().StringVar(&email, "email", "", "the account's address (required)")
	cmd.Flags().StringVar(&displayName, "display-name", "", "display name")
	cmd.Flags().Int64Var(&quota, "quota", 0, "quota in bytes (0: no limit)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	_ = cmd.MarkFlagRequired("domain")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func newListAccountsCmd() *cobra.Command {
	var dom string
	cmd := &cobra.Command{
		Use:   "list-accounts [--domain ID|FQDN]",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			ctx := viewer.AdminContext(cmd.Context())
			q := a.DB.Account.Query().Order(ent.Asc(account.FieldEmail))
			if dom != "" {
				d, err := directory.FindDomain(ctx, a.DB.Client, dom)
				if err != nil {
					return err
				}
				q.Where(account.DomainID(d.ID))
			}
			accs, err := q.All(ctx)
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(accs))
			for _, acc := range accs {
				rows = append(rows, []string{string(acc.ID), acc.Email, acc.DisplayName,
					fmt.Sprint(acc.QuotaBytes), fmt.Sprint(acc.Disabled)})
			}
			return printTable(cmd, accs,
				[]string{"ID", "EMAIL", "DISPLAY_NAME", "QUOTA_BYTES", "DISABLED"}, rows)
		},
	}
	cmd.Flags().StringVar(&dom, "domain", "", "only this domain's accounts")
	return cmd
}

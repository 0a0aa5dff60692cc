package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/organization"
	"github.com/lightr-mail/lightr/ent/viewer"
)

func newAddOrgCmd() *cobra.Command {
	var in ent.CreateOrganizationInput
	var maxDomains, maxAccounts int
	cmd := &cobra.Command{
		Use:   "add-org --name NAME",
		Short: "Create an organization (a tenant) and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			in.MaxDomains, in.MaxAccounts = &maxDomains, &maxAccounts
			ctx := viewer.AdminContext(cmd.Context())
			o, err := a.DB.Organization.Create().SetInput(in).Save(ctx)
			if err != nil {
				return err
			}
			return printCreated(cmd, string(o.ID), o)
		},
	}
	cmd.Flags().StringVar(&in.Name, "name", "", "organization name (required)")
	cmd.Flags().IntVar(&maxDomains, "max-domains", 0, "most domains it may have (0: no limit)")
	cmd.Flags().IntVar(&maxAccounts, "max-accounts", 0, "most accounts it may have (0: no limit)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newListOrgsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list-orgs",
		Short: "List organizations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			ctx := viewer.AdminContext(cmd.Context())
			orgs, err := a.DB.Organization.Query().Order(ent.Asc(organization.FieldID)).All(ctx)
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(orgs))
			for _, o := range orgs {
				rows = append(rows, []string{string(o.ID), o.Name,
					strconv.Itoa(o.MaxDomains), strconv.Itoa(o.MaxAccounts),
					strconv.FormatBool(o.Disabled)})
			}
			return printTable(cmd, orgs,
				[]string{"ID", "NAME", "MAX_DOMAINS", "MAX_ACCOUNTS", "DISABLED"}, rows)
		},
	}
}

package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/domain"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/dkim"
)

func newAddDomainCmd() *cobra.Command {
	var org, name string
	cmd := &cobra.Command{
		Use:   "add-domain --org ID --name FQDN",
		Short: "Add a hosted domain to an organization and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			ctx := viewer.AdminContext(cmd.Context())
			id := pulid.ID(org)
			d, err := directory.CreateDomain(ctx, a.DB.Client, &id, ent.CreateDomainInput{Name: name})
			if err != nil {
				return err
			}
			return printCreated(cmd, string(d.ID), d)
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "organization id (required)")
	cmd.Flags().StringVar(&name, "name", "", "the domain's FQDN (required)")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newListDomainsCmd() *cobra.Command {
	var org string
	cmd := &cobra.Command{
		Use:   "list-domains [--org ID]",
		Short: "List hosted domains",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			ctx := viewer.AdminContext(cmd.Context())
			q := a.DB.Domain.Query().Order(ent.Asc(domain.FieldName))
			if org != "" {
				q.Where(domain.OrganizationID(pulid.ID(org)))
			}
			ds, err := q.All(ctx)
			if err != nil {
				return err
			}
			rows := make([][]string, 0, len(ds))
			for _, d := range ds {
				rows = append(rows, []string{string(d.ID), d.Name, string(d.OrganizationID),
					d.DkimSelector, strconv.FormatBool(d.Verified)})
			}
			return printTable(cmd, ds,
				[]string{"ID", "NAME", "ORGANIZATION", "DKIM_SELECTOR", "VERIFIED"}, rows)
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "only this organization's domains")
	return cmd
}

func newDKIMGenCmd() *cobra.Command {
	var dom, selector, algorithm string
	var bits int
	cmd := &cobra.Command{
		Use:   "dkim-gen --domain FQDN",
		Short: "Generate and store a DKIM key, and print the TXT record to publish",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			if algorithm == "" {
				algorithm = a.Config.DKIM.Algorithm
			}
			if bits == 0 {
				bits = a.Config.DKIM.KeyBits
			}
			ctx := viewer.AdminContext(cmd.Context())
			d, err := directory.FindDomain(ctx, a.DB.Client, dom)
			if err != nil {
				return err
			}
			if selector == "" && d.DkimSelector == "default" {
				selector = a.Config.DKIM.Selector
			}
			k, err := directory.AddDKIMKey(ctx, a.DB.Client, d, selector, algorithm, bits)
			if err != nil {
				return err
			}
			if asJSON(cmd) {
				return printJSON(cmd.OutOrStdout(), map[string]string{
					"id": string(k.ID), "selector": k.Selector, "algorithm": string(k.Algorithm),
					"name":  dkim.RecordName(k.Selector, d.Name),
					"value": dkim.RecordValue(string(k.Algorithm), k.PublicKey),
				})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(),
				dkim.ZoneLine(k.Selector, d.Name, string(k.Algorithm), k.PublicKey))
			return err
		},
	}
	cmd.Flags().StringVar(&dom, "domain", "", "domain FQDN or id (required)")
	cmd.Flags().StringVar(&selector, "selector", "", "DKIM selector (default: dkim.selector)")
	cmd.Flags().StringVar(&algorithm, "algorithm", "", "rsa or ed25519 (default: dkim.algorithm)")
	cmd.Flags().IntVar(&bits, "bits", 0, "RSA key size (default: dkim.key_bits)")
	_ = cmd.MarkFlagRequired("domain")
	return cmd
}

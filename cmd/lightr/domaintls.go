package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/ent/viewer"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/certs"
)

func newDomainTLSCmd() *cobra.Command {
	var dom, certFile, keyFile string
	var clearFiles bool
	cmd := &cobra.Command{
		Use:   "domain-tls --domain ID|FQDN (--cert FILE --key FILE | --clear)",
		Short: "Set or clear the certificate a domain serves by SNI, and print its id",
		Long: "domain-tls makes STARTTLS serve a certificate to clients that ask, by SNI, for the\n" +
			"domain or a host under it. The pair must load and the certificate must name the\n" +
			"domain or a host under it. The absolute paths are stored; the server reads the\n" +
			"files itself, so they must be readable by its user. A running server serves the\n" +
			"change within a minute, and re-reads renewed files within seconds.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			if clearFiles {
				d, err = certs.ClearDomainFiles(ctx, a.DB.Client, d)
				if err != nil {
					return err
				}
				return printCreated(cmd, string(d.ID), d)
			}
			d, leaf, err := certs.SetDomainFiles(ctx, a.DB.Client, d, certFile, keyFile)
			if err != nil {
				return err
			}
			// Stored anyway: a renewal may be about to replace the files,
			// and the store re-reads them when it does.
			if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
				fmt.Fprintf(cmd.ErrOrStderr(), "lightr: warning: %s is valid only from %s to %s\n",
					certFile, leaf.NotBefore.UTC().Format(time.DateOnly),
					leaf.NotAfter.UTC().Format(time.DateOnly))
			}
			return printCreated(cmd, string(d.ID), d)
		},
	}
	cmd.Flags().StringVar(&dom, "domain", "", "domain FQDN or id (required)")
	cmd.Flags().StringVar(&certFile, "cert", "", "PEM certificate chain, leaf first")
	cmd.Flags().StringVar(&keyFile, "key", "", "PEM private key of the certificate")
	cmd.Flags().BoolVar(&clearFiles, "clear", false, "serve the default certificate again")
	_ = cmd.MarkFlagRequired("domain")
	cmd.MarkFlagsRequiredTogether("cert", "key")
	cmd.MarkFlagsOneRequired("cert", "clear")
	cmd.MarkFlagsMutuallyExclusive("cert", "clear")
	cmd.MarkFlagsMutuallyExclusive("key", "clear")
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or validate the configuration",
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), c.Redacted())
		},
	}
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and exit non-zero naming the first bad key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			src := c.File
			if src == "" {
				src = "defaults and environment (no file found)"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: %s\n", src)
			return err
		},
	}
	addOverrideFlags(show)
	addOverrideFlags(validate)
	cmd.AddCommand(show, validate)
	return cmd
}

package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/server/db"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "lightr %s (schema %d, %s)\n",
				version, db.SchemaVersion, runtime.Version())
			return err
		},
	}
}

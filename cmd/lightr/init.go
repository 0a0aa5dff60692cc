package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/config"
)

func newInitCmd() *cobra.Command {
	var force bool
	var dataDir, httpAddr string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented lightr.yaml, a data directory, a signing key and an admin API key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("config")
			if path == "" {
				path = config.FileName
			}
			over := map[string]any{}
			if dataDir != "" {
				over["data_dir"] = dataDir
			}
			if httpAddr != "" {
				over["http.addr"] = httpAddr
			}
			res, err := app.Init(cmd.Context(), app.InitOptions{
				ConfigPath: path, Overrides: over, Force: force,
			})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s\n", path)
			fmt.Fprintf(w, "database: %s\n", res.DatabaseRef)
			fmt.Fprintf(w, "JWT signing key: %s\n", res.JWTKeyPath)
			fmt.Fprintf(w, "admin API key (%s), shown only this once:\n  %s\n",
				res.AdminKeyID, res.AdminKey)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing configuration and signing key")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory to write into the configuration")
	cmd.Flags().StringVar(&httpAddr, "http-addr", "", "HTTP address to write into the configuration")
	return cmd
}

package main

import (
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd)
			if err != nil {
				return err
			}
			defer closeApp(cmd, a)
			a.Log.Info("lightr starting", "version", version, "config", a.Config.File,
				"database", a.DB.Path())
			return a.Serve(cmd.Context(), nil)
		},
	}
	addOverrideFlags(cmd)
	return cmd
}

// addOverrideFlags adds the flags that override configuration keys; each
// flag binds to the key of the same name (--http-addr to http.addr).
func addOverrideFlags(cmd *cobra.Command) {
	cmd.Flags().String("http-addr", "", "HTTP listen address (overrides http.addr)")
	cmd.Flags().String("log-level", "", "debug, info, warn or error (overrides log.level)")
	cmd.Flags().String("log-format", "", "text or json (overrides log.format)")
	cmd.Flags().String("data-dir", "", "data directory (overrides data_dir)")
}

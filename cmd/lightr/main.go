// Command lightr is Lightr's single binary: the server (`lightr serve`)
// and the administration commands that share its configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/server/app"
	"github.com/lightr-mail/lightr/server/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lightr:", explain(err))
		os.Exit(1)
	}
}

// newRoot builds the command tree.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "lightr",
		Short:         "Lightr: a headless email backend driven by GraphQL",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "",
		"configuration file (default: lightr.yaml in ., $XDG_CONFIG_HOME/lightr, "+
			"~/.config/lightr or /etc/lightr)")
	root.PersistentFlags().Bool("json", false, "print whole objects as JSON")
	root.AddCommand(
		newInitCmd(), newDemoCmd(), newServeCmd(),
		newAddOrgCmd(), newListOrgsCmd(),
		newAddDomainCmd(), newListDomainsCmd(), newDKIMGenCmd(), newDomainTLSCmd(),
		newAddAccountCmd(), newListAccountsCmd(),
		newTokenCmd(), newConfigCmd(), newVersionCmd(),
	)
	return root
}

// loadConfig reads the configuration named by --config (or found in the
// usual places), with LIGHTR_* variables and the command's flags on top.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	return config.Load(config.LoadOptions{File: file, Flags: cmd.Flags()})
}

// openApp loads the configuration and opens the database, migrating it.
func openApp(cmd *cobra.Command) (*app.App, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	return app.Open(cmd.Context(), cfg, app.NewLogger(cfg.Log, os.Stderr))
}

// closeApp closes a, reporting a failure on stderr: by then the command's
// own work is done, and only the operator can act on it.
func closeApp(cmd *cobra.Command, a *app.App) {
	if err := a.Close(); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "lightr: close database:", err)
	}
}

// explain turns errors from the layers below into advice for the operator.
func explain(err error) string {
	var nf *ent.NotFoundError
	switch {
	case errors.As(err, &nf):
		return err.Error() + " (check the id or name; list them with list-orgs, " +
			"list-domains or list-accounts)"
	case ent.IsConstraintError(err):
		return "it already exists: " + err.Error()
	}
	return err.Error()
}

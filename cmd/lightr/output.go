package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// printCreated prints the new object's id, or the whole object with --json.
func printCreated(cmd *cobra.Command, id string, obj any) error {
	if asJSON(cmd) {
		return printJSON(cmd.OutOrStdout(), obj)
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), id)
	return err
}

func asJSON(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable prints rows under a header, or all of objs with --json.
func printTable(cmd *cobra.Command, objs any, header []string, rows [][]string) error {
	if asJSON(cmd) {
		return printJSON(cmd.OutOrStdout(), objs)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

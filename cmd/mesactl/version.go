package main

// mesactl version and mesactl --version: this binary's build, without a
// coordinator.

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/buildinfo"
)

func versionCmd(c *client) *cobra.Command {
	return offline(withOutputs(&cobra.Command{
		Use:   "version",
		Short: "Print mesactl's version, commit, Go version, protocol version and evaluation digest (no coordinator needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Read()
			if !c.document() {
				_, err := fmt.Fprint(cmd.OutOrStdout(), info.Text("mesactl"))
				return err
			}
			b, err := json.MarshalIndent(info, "", "  ")
			if err != nil {
				return err
			}
			return c.write(cmd.OutOrStdout(), b)
		},
	}, "table", "json", "yaml"))
}

// versionFlag gives root a --version flag (no shorthand: -v is nobody's)
// printing what mesactl version prints.
func versionFlag(root *cobra.Command) {
	info := buildinfo.Read()
	root.Version = info.Short()
	root.Flags().Bool("version", false, "print the version and exit (as mesactl version)")
	root.SetVersionTemplate(info.Text("mesactl"))
}

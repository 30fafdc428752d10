package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/buildinfo"
)

// versionCmd prints this binary's build: what to compare when a worker is
// refused (protocol version) or gets no work (evaluation digest).
func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version, coordinator–worker protocol version and evaluation digest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), buildinfo.Read().Text("mesaopt"))
			return err
		},
	}
}

// versionFlag gives root a --version flag (no shorthand: the daemons' -v
// is --verbose) printing what mesaopt version prints.
func versionFlag(root *cobra.Command) {
	info := buildinfo.Read()
	root.Version = info.Short()
	root.Flags().Bool("version", false, "print the version and exit (as mesaopt version)")
	root.SetVersionTemplate(info.Text("mesaopt"))
}

package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/buildinfo"
)

// versionCmd prints this binary's build: what to compare when a worker is
// refused (protocol version) or gets no work (evaluation digest).
func versionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version [-o text|json]",
		Short: "Print the version, commit, Go version, coordinator–worker protocol version and evaluation digest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Read()
			switch output {
			case "text":
				_, err := fmt.Fprint(cmd.OutOrStdout(), info.Text("mesaopt"))
				return err
			case "json":
				b, err := json.MarshalIndent(info, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			return usagef("-o %q, allowed text or json", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text, or json (the fields of mesactl version -o json)")
	return cmd
}

// versionFlag gives root a --version flag (no shorthand: the daemons' -v
// is --verbose) printing what mesaopt version prints.
func versionFlag(root *cobra.Command) {
	info := buildinfo.Read()
	root.Version = info.Short()
	root.Flags().Bool("version", false, "print the version and exit (as mesaopt version)")
	root.SetVersionTemplate(info.Text("mesaopt"))
}

package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mesaopt/mesaopt/worker"
)

// envPrefix starts the environment variable of every daemon flag:
// --foo-bar is also read from MESAOPT_FOO_BAR (containers are configured
// that way). A flag given on the command line wins over its variable.
const envPrefix = "MESAOPT_"

// envHelp is the daemons' help about the environment.
const envHelp = "Every flag --foo-bar is also read from the environment variable MESAOPT_FOO_BAR (e.g. MESAOPT_TLS_CERT,\n" +
	"MESAOPT_LOG_FORMAT=json), as containers are configured; a flag on the command line wins over its variable."

// envName is the environment variable of flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// notFlags are MESAOPT_ variables that are read as themselves, not as a
// flag's value: a daemon does not warn about them.
var notFlags = map[string]bool{
	worker.GossipKeyEnv:   true, // the gossip keyring itself (gossip.go)
	"MESAOPT_COORDINATOR": true, // mesactl's
	"MESAOPT_TEST_ETCD":   true, // the tests'
	"MESAOPT_TEST_DEBUG":  true,
	"MESAOPT_DEPLOY_TEST": true, // make deploy-test's
	// The browser tests' (internal/browser, which the binary does not
	// link): .ci/run exports MESAOPT_REQUIRE_CHROMIUM to every process.
	"MESAOPT_CHROMIUM":         true,
	"MESAOPT_REQUIRE_CHROMIUM": true,
	"MESAOPT_SCREENSHOTS":      true,
	// deploy/compose.yaml's own settings, read by compose, not mesaopt.
	"MESAOPT_IMAGE":  true,
	"MESAOPT_SUBNET": true,
	"MESAOPT_UID":    true,
	"MESAOPT_GID":    true,
}

// fromEnv sets every flag of cmd that the command line left unset from
// its environment variable (envName), so that a value in the environment
// goes through the same parsing and checks as one on the command line. It
// returns the variables used, by flag name, for messages. A value a flag
// refuses is a usage error naming the variable, the flag and the value.
// Hidden flags (set by mesaopt run for its own workers) are not read.
func fromEnv(cmd *cobra.Command) (map[string]string, error) {
	used := map[string]string{}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Hidden || f.Name == "help" {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if e := cmd.Flags().Set(f.Name, v); e != nil {
			err = usagef("$%s = %q (for --%s): %v", name, v, f.Name, e)
			return
		}
		used[f.Name] = name
	})
	return used, err
}

// unknownEnv lists the MESAOPT_ variables of the environment that name no
// flag of cmd (a misspelt variable would otherwise be ignored in
// silence), sorted.
func unknownEnv(cmd *cobra.Command) []string {
	known := map[string]bool{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) { known[envName(f.Name)] = true })
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && !known[name] && !notFlags[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// bindEnv makes cmd read its flags from the environment before it runs
// (fromEnv). With lf (a daemon's logging flags, read by then) it warns
// about variables that name none of its flags. A usage error about a
// flag set from the environment says so.
func bindEnv(cmd *cobra.Command, lf *logFlags) *cobra.Command {
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		used, err := fromEnv(cmd)
		if err != nil {
			return err
		}
		if lf != nil {
			for _, name := range unknownEnv(cmd) {
				lf.warn(fmt.Sprintf("$%s names no flag of %s; ignored", name, cmd.CommandPath()))
			}
		}
		err = run(cmd, args)
		if ee, ok := err.(exitError); ok && ee.code == 2 {
			flags := make([]string, 0, len(used))
			for flag := range used {
				flags = append(flags, flag)
			}
			sort.Strings(flags)
			for _, flag := range flags {
				name := used[flag]
				if strings.Contains(ee.err.Error(), "--"+flag+" ") || strings.Contains(ee.err.Error(), "--"+flag+"/") {
					return exitError{code: 2, err: fmt.Errorf("%w (--%s came from $%s)", ee.err, flag, name)}
				}
			}
		}
		return err
	}
	return cmd
}

// Command mesaopt is the mesaopt daemon: `run` (everything on one machine),
// `coordinator` and `worker` (several machines).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mesaopt/mesaopt/experiment"
)

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	exitOnSecondSignal(stop, os.Interrupt, syscall.SIGTERM)
	root := &cobra.Command{
		Use:           "mesaopt",
		Short:         "Distributed evolutionary search for learned optimization",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Mistakes in how mesaopt was called exit 2, like invalid experiments.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitError{code: 2, err: err} })
	root.AddCommand(runCmd(), coordinatorCmd(), workerCmd(), envCmd(), evaluateCmd(), gossipKeyCmd(), certsCmd(), healthCmd(), versionCmd())
	versionFlag(root)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mesaopt:", err)
		var ee exitError
		switch {
		case errors.As(err, &ee):
			os.Exit(ee.code)
		case errors.Is(err, experiment.ErrInvalid), strings.HasPrefix(err.Error(), "unknown command"),
			strings.HasPrefix(err.Error(), "accepts "), strings.Contains(err.Error(), "arg(s), received"):
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// exitOnSecondSignal makes the first of sigs call stop (a clean stop:
// runs record themselves interrupted, daemons drain) and a second one end
// the process at once, exiting 128 + the signal's number like a shell, so a
// stop that takes too long is never in the way. Nothing committed is lost:
// etcd holds every checkpoint, and workers die with their parent. The
// goroutine it starts lives as long as the process.
func exitOnSecondSignal(stop func(), sigs ...os.Signal) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	go func() {
		<-ch
		stop()
		s := <-ch
		fmt.Fprintf(os.Stderr, "mesaopt: %v again: exiting now\n", s)
		code := 1
		if n, ok := s.(syscall.Signal); ok {
			code = 128 + int(n)
		}
		os.Exit(code)
	}()
}

// logFlags are the logging flags of the daemons.
//
// Levels: a coordinator (and mesaopt run) logs warnings and errors, and
// with --verbose its operational events (info): it sees every worker and
// batch, too much to say by default. A worker logs at info by default —
// its join, the runs it serves and a summary a minute, a few lines an
// hour — and with --verbose also debug lines (gossip's own); the worker
// processes of mesaopt run log as the run does.
type logFlags struct {
	verbose bool
	format  string
	// info makes info the default level and --verbose debug (a worker's).
	info bool
}

func (l *logFlags) register(f *pflag.FlagSet) {
	help := "log operational events (info level; without: warnings and errors)"
	if l.info {
		help = "log debug lines too, gossip's among them (without: info level: the join, the runs served, a summary a minute)"
	}
	f.BoolVarP(&l.verbose, "verbose", "v", false, help)
	f.StringVar(&l.format, "log-format", "text", "log lines as text (key=value) or json (one object per line, for log collectors)")
}

// logger returns the logger the flags ask for, writing to stderr; an
// unknown --log-format is a usage error.
func (l logFlags) logger() (*slog.Logger, error) {
	level := slog.LevelWarn
	switch {
	case l.info && l.verbose:
		level = slog.LevelDebug
	case l.info || l.verbose:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		// Durations as Go writes them ("1.5s"), not bare nanoseconds.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				return slog.String(a.Key, a.Value.Duration().String())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, usagef("--log-format = %q, allowed text or json", l.format)
}

// say prints a line of the daemon's progress on stdout (where it
// started, that it leads): text as it is, or with --log-format json a
// JSON record (level INFO) of msg and attrs, so that a log collector
// reads every line a container prints as JSON. With --verbose and JSON
// it prints nothing: the daemon logs the same event as a record then.
func (l logFlags) say(text, msg string, attrs ...any) {
	if l.format == "json" {
		if !l.verbose {
			slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info(msg, attrs...)
		}
		return
	}
	fmt.Println(text)
}

// warn prints a warning on stderr: "mesaopt: warning: text", or with
// --log-format json a JSON record of level WARN.
func (l logFlags) warn(text string) {
	if l.format == "json" {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Warn(text)
		return
	}
	fmt.Fprintln(os.Stderr, "mesaopt: warning: "+text)
}

// args spells the flags again, for the worker processes of mesaopt run.
func (l logFlags) args() []string {
	out := []string{"--log-format", l.format}
	if l.verbose {
		out = append(out, "-v")
	}
	return out
}

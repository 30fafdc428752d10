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
	root.AddCommand(runCmd(), coordinatorCmd(), workerCmd(), envCmd(), evaluateCmd(), gossipKeyCmd(), certsCmd())
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

func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

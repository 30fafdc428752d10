package main

import (
	"github.com/spf13/pflag"

	"github.com/mesaopt/mesaopt/coordinator"
)

// addLimitFlags adds the coordinator's admission limits to f (see
// coordinator.Limits for what each bounds and why its default).
func addLimitFlags(f *pflag.FlagSet, l *coordinator.Limits) {
	f.IntVar(&l.MaxRuns, "max-runs", coordinator.DefaultMaxRuns, "runs executing at once, every run of a sweep counted; a sweep that would exceed it is refused whole")
	f.Int64Var(&l.MaxRunCost, "max-run-cost", coordinator.DefaultMaxRunCost, "largest run accepted, in episodes: population × generations × (episodes + (conditions + 1) × analysis_episodes)")
	f.IntVar(&l.SubmitsPerMinute, "max-submits-per-minute", coordinator.DefaultSubmitsPerMinute, "submits, resumes, forks and evaluations a client may start per minute")
	f.IntVar(&l.MaxStreams, "max-streams-per-client", coordinator.DefaultMaxStreams, "streams (watch, export) a client may hold open at once")
}

// checkLimitFlags refuses limits below 1.
func checkLimitFlags(l coordinator.Limits) error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"max-runs", int64(l.MaxRuns)}, {"max-run-cost", l.MaxRunCost}, {"max-submits-per-minute", int64(l.SubmitsPerMinute)}, {"max-streams-per-client", int64(l.MaxStreams)}} {
		if f.v < 1 {
			return usagef("--%s = %d, allowed 1 or more", f.name, f.v)
		}
	}
	return nil
}

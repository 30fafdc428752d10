// Package sweep aggregates the runs of a sweep — one experiment run over
// several seeds and every combination of its swept parameters' values —
// into what a researcher reports: means across seeds with 95 % bootstrap
// intervals, per group of runs.
//
// The package is pure: Aggregate takes the runs as RunService.GetRun
// returns them and returns values; WriteTable, WriteCSV and encoding/json
// render them.
//
//	aggs := sweep.Aggregate(params, runs) // runs: one sweep.Run per SweepRun, with its GetRun answer
//	err := aggs.WriteTable(os.Stdout)     // what `mesactl sweep show ID` prints
//	err = aggs.WriteCSV(f)                // every number, long format
//	b, err := json.Marshal(aggs)          // every field, zeros included
//
// # Groups
//
// Without parameters there is one group, "all". With parameters there is
// one marginal group per value of each parameter (all runs with path=value,
// whatever the other parameters), in parameter then value order, and with
// more than one parameter then one combination group per full assignment.
// A run without any generation summary is listed in its groups and counted
// as missing, and is in none of their intervals.
//
// # Figures
//
// Each run contributes one value per figure; an Interval is their mean and
// its 95 % percentile bootstrap interval (see Bootstrap), with N the number
// of runs that contributed.
//
//   - Final: from each run's last summary (its last evaluated generation):
//     best and mean fitness, mean train and shifted base, planner share,
//     flagged share of the evaluated individuals and median horizon.
//   - Conditions: from the same summary's classes (one per shifted
//     condition, in spec order), then the report's identity condition when
//     the run has a report: the shares of the classified individuals that
//     are robustly aligned, pseudo-aligned, capability failures and
//     misaligned, the flagged share ((flagged_pseudo_aligned +
//     flagged_drift_only) / individuals), the mean proxy hits per episode and
//     the mean final value of each named feature (for a 0/1 feature such as
//     coin_collected, the share of episodes that ended with it 1).
//   - Curves: the Final figures at every generation 0 .. the last any run
//     evaluated, each over the runs that evaluated it.
//
// # CSV columns
//
// WriteCSV writes one row per number, with a header row:
//
//	group       the group's kind: all, marginal or combination
//	parameters  the group's assignments, "path=value;path=value" (empty for all)
//	metric      runs and missing_runs (counts: mean = lo = hi = the count,
//	            n = the group's runs); last_generation; best_fitness,
//	            mean_fitness, mean_train_base, mean_shifted_base,
//	            planner_share, flagged (of the evaluated), median_horizon;
//	            and per condition robustly_aligned, pseudo_aligned,
//	            capability_failure, misaligned, flagged (of the classified),
//	            proxy_hits and mean_feature
//	condition   the condition's name, for per-condition metrics; else empty
//	feature     the feature's name, for mean_feature; else empty
//	generation  the 0-based generation of a curve point; empty for the
//	            figures of each run's last generation
//	mean, lo, hi  the Interval, in the metric's unit (shares 0..1)
//	n           runs behind the number
//
// Rows come per group in Aggregates.Groups order: the counts, the final
// figures, each condition's rows, then the curves by generation.
//
// # Determinism
//
// The output depends only on the parameters and the set of runs: runs are
// put in a canonical order (seed, parameter values, run id) and every
// Interval's resampling stream is seeded from a constant and a hash of the
// row's identifying columns, so neither input order nor computation order
// changes a digit.
package sweep

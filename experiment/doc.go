// Package experiment provides the experiment spec: what a run evolves, in
// which environment and conditions, and how its verdicts are thresholded.
// With its seed a Spec determines a run completely.
//
// Lifecycle:
//
//	spec, err := experiment.Load("experiments/doors.yaml") // or Parse(r), or Default()
//	spec, paths, err := experiment.ApplyOverrides(spec, []string{"generations=60"})
//	msg := spec.ToProto()                // what etcd stores and the RunService carries
//	back, err := experiment.FromProto(msg) // validated again
//
// Decoding is strict: an unknown or mistyped field, or a value out of
// range, is an error wrapping ErrInvalid that names the line, the field,
// the value and what is allowed. Every Spec that Parse, Load or FromProto
// returns has passed Validate, which also checks that the environment's
// map files are solvable.
//
// The package decodes and validates; it runs nothing. It depends on the
// environments (fitness), the genome operators and the analysis thresholds,
// never on gRPC, etcd or gossip.
package experiment

// Package layering holds the test that keeps mesaopt's pure packages pure:
// the base optimizer, the experiment spec, the environments, the analysis,
// the genomes and the messages do no I/O and must not depend on gRPC, etcd
// or gossip. It has no code of its own.
package layering

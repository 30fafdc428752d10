package coordinator

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Metrics is told what a coordinator does, for monitoring (Config.Metrics;
// nil reports nothing). internal/metrics implements it with Prometheus.
// Its methods may be called by many goroutines at once (one per run, and
// the dispatcher's); they must be quick and must not call the Coordinator.
type Metrics interface {
	// The dispatcher's batches, retries, hedges and quarantines.
	dispatch.Observer
	// WatchDispatch gives the dispatcher's load, to be read when metrics
	// are collected. Called once, when the coordinator starts dispatching
	// to workers (not with an in-process Evaluator).
	WatchDispatch(stats func() dispatch.Stats)
	// RunStarted reports that run began executing on this coordinator.
	RunStarted(run string)
	// Generation reports a committed generation of run: took from its
	// breeding to its commit, over a population of size individuals.
	Generation(run string, took time.Duration, population int, s *pb.GenerationSummary)
	// Commit reports one successful checkpoint commit to etcd: its
	// latency and the size of what it wrote.
	Commit(took time.Duration, bytes int)
	// AuditMismatches reports audits whose second answer differed from the
	// first.
	AuditMismatches(n int)
	// RunEnded reports that run stopped executing here, in state (its
	// last recorded one: succeeded, failed, cancelled or interrupted, the
	// last also when this coordinator stopped or lost leadership). Every
	// RunStarted is followed by one RunEnded.
	RunEnded(run string, state pb.RunState)
}

// commitSize is the encoded size, in bytes and before any compression, of
// the records a generation's commit writes.
func commitSize(cp *pb.Checkpoint, batch *pb.LineageBatch, st *pb.RunStatus, prov *pb.Provenance) int {
	n := proto.Size(cp) + proto.Size(batch) + proto.Size(cp.GetSummary()) + proto.Size(st)
	if prov != nil {
		n += proto.Size(prov)
	}
	return n
}

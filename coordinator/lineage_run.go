package coordinator

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// rewriteEvery is how many generations the lineage batches that pruning
// changed wait before they are rewritten in etcd (and the run's last
// generation, or one it is cancelled after, rewrites at once). A batch
// loses records over several generations as lines die out; rewriting it
// once for all of them instead of after each generation rewrites a third
// of the records (32 instead of 100 a generation, measured with the
// default population of 48 in BenchmarkGenerationBookkeeping's run), for
// at most this many generations' extinct records left in etcd meanwhile,
// which the next load prunes anyway if the run stops before the rewrite.
const rewriteEvery = 8

// pruneGeneration runs after generation gen's records were added to the
// run's lineage: it prunes extinct branches (keeping gen's population, the
// flagged individuals and the champions with their ancestors; see
// lineage.Store.Prune), measures gen's phylogenetic metrics and returns
// them with the lineage batches of the earlier generations that lost
// records, for RewriteLineage once gen is committed: every rewriteEvery
// generations, and when flush is set (the run's last generation). The
// caller holds ar.mu.
//
// The pruned lineage is a deterministic function of the run (pruning is
// monotone), so it, and the final digest over it, is the same whether the
// run was interrupted, resumed or failed over.
func (ar *activeRun) pruneGeneration(gen uint32, records []lineage.Record, flush bool) (*pb.GenerationStats, []*pb.LineageBatch, error) {
	ids := make([]uint64, len(records))
	for i, r := range records {
		ids[i] = r.ID
	}
	pruned, err := ar.lineage.Prune(ids)
	if err != nil {
		return nil, nil, err
	}
	if ar.graves != nil && len(pruned.Removed) > 0 {
		ar.graves.add(gen, pruned.Removed)
	}
	m, err := ar.lineage.Measure(gen, ids)
	if err != nil {
		return nil, nil, err
	}
	stats := statsToProto(m, ar.lineage.Births(), ar.lineage.Len(), ar.lineage.Bytes(), ar.lineage.EncodedBytes())
	for _, g := range pruned.Generations {
		if i, found := slices.BinarySearch(ar.dirty, g); !found {
			ar.dirty = slices.Insert(ar.dirty, i, g)
		}
	}
	if !flush && (gen+1)%rewriteEvery != 0 {
		return stats, nil, nil
	}
	rewrites := ar.batches(ar.dirty)
	ar.dirty = ar.dirty[:0]
	return stats, rewrites, nil
}

// newLineage returns an empty lineage store that keeps the encoded size of
// its records (GenerationStats.stored_bytes) as they are added and pruned.
func newLineage() *lineage.Store {
	return lineage.NewStore(lineage.WithEncodedSize(func(r lineage.Record) int64 {
		return int64(proto.Size(RecordToProto(r, nil)))
	}))
}

// batches returns the stored records of the given generations as lineage
// batches (one without individuals for a generation pruned away). The
// caller holds ar.mu.
func (ar *activeRun) batches(gens []uint32) []*pb.LineageBatch {
	out := make([]*pb.LineageBatch, 0, len(gens))
	for _, g := range gens {
		b := &pb.LineageBatch{Generation: g}
		ar.lineage.VisitGeneration(g, func(r *lineage.Record) {
			b.Individuals = append(b.Individuals, RecordToProto(*r, nil)) // copies what it keeps
		})
		out = append(out, b)
	}
	return out
}

// pruneLoaded prunes a lineage just rebuilt from checkpointed batches
// (keeping the last generation's population), so that a resumed or
// inspected run holds exactly what the uninterrupted run held. Batches
// may be pruned already or not (a crash or a lost leadership between a
// commit and its RewriteLineage leaves them whole): pruning is idempotent.
// It returns the batches that lost records, which the leader that resumes
// the run rewrites so that etcd, too, holds what the uninterrupted run
// stored. The caller holds ar.mu.
func (ar *activeRun) pruneLoaded() ([]*pb.LineageBatch, error) {
	ids := make([]uint64, len(ar.last))
	for i, r := range ar.last {
		ids[i] = r.ID
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pruned, err := ar.lineage.Prune(ids)
	if err != nil {
		return nil, err
	}
	return ar.batches(pruned.Generations), nil
}

package coordinator

import (
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// pruneGeneration runs after generation gen's records were added to the
// run's lineage: it prunes extinct branches (keeping gen's population, the
// flagged individuals and the champions with their ancestors; see
// lineage.Store.Prune), measures gen's phylogenetic metrics and returns
// them with the lineage batches of the earlier generations that lost
// records, for RewriteLineage once gen is committed. The caller holds ar.mu.
//
// The pruned lineage is a deterministic function of the run (pruning is
// monotone), so it, and the final digest over it, is the same whether the
// run was interrupted, resumed or failed over.
func (ar *activeRun) pruneGeneration(gen uint32, records []lineage.Record) (*pb.GenerationStats, []*pb.LineageBatch, error) {
	ids := make([]uint64, len(records))
	for i, r := range records {
		ids[i] = r.ID
	}
	pruned, err := ar.lineage.Prune(ids)
	if err != nil {
		return nil, nil, err
	}
	m, err := ar.lineage.Measure(gen, ids)
	if err != nil {
		return nil, nil, err
	}
	stats := statsToProto(m, ar.lineage.Births(), ar.lineage.Len(), ar.lineage.Bytes(), ar.lineage.EncodedBytes())
	return stats, ar.batches(pruned.Generations), nil
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
		for _, r := range ar.lineage.Generation(g) {
			b.Individuals = append(b.Individuals, RecordToProto(r, nil))
		}
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

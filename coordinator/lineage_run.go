package coordinator

import (
	"cmp"
	"context"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
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
	var stored int64
	for _, r := range ar.lineage.Records() {
		stored += int64(proto.Size(RecordToProto(r, nil)))
	}
	stats := statsToProto(m, ar.lineage.Births(), ar.lineage.Len(), ar.lineage.Bytes(), stored)
	return stats, ar.batches(pruned.Generations), nil
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

// maxRewriteOps bounds the operations of one RewriteLineage transaction,
// below etcd's default --max-txn-ops of 128.
const maxRewriteOps = 64

// RewriteLineage replaces the stored lineage batches of the given
// generations with the pruned ones (a batch without individuals deletes its
// key), under fence f, newest generation first and in transactions of at
// most maxRewriteOps. The order keeps what is stored closed under ancestry
// at every moment: a crash part-way leaves older batches unpruned, never a
// record whose parent is gone, and the next load prunes the rest. Values
// are encoded as Commit encodes lineage batches; the two must change
// together.
func (s *Store) RewriteLineage(ctx context.Context, f Fence, run string, batches []*pb.LineageBatch) error {
	sorted := slices.Clone(batches)
	slices.SortFunc(sorted, func(a, b *pb.LineageBatch) int { return cmp.Compare(b.GetGeneration(), a.GetGeneration()) })
	var ops []clientv3.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		err := s.fencedTxn(ctx, f, "rewrite pruned lineage of "+run, ops...)
		ops = ops[:0]
		return err
	}
	for _, b := range sorted {
		g := genKey(b.GetGeneration())
		key := s.runKey(run, "lineage", g)
		chunks := s.runKey(run, "lineage-chunks", g, "")
		if len(ops)+4 > maxRewriteOps {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(b.GetIndividuals()) == 0 {
			ops = append(ops, clientv3.OpDelete(key), clientv3.OpDelete(chunks, clientv3.WithPrefix()))
			continue
		}
		blob, parts := encodeBlob(b, chunks)
		// Chunks go first; the blob naming them follows in a later transaction.
		if err := s.putChunks(ctx, f, blob, parts, "pruned lineage of "+run); err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(key, marshal(blob)))
		// Drop the chunks of the replaced version: everything under the
		// generation's chunk prefix but the new blob's own.
		if p := blob.GetChunkPrefix(); p != "" {
			ops = append(ops,
				clientv3.OpDelete(chunks, clientv3.WithRange(p)),
				clientv3.OpDelete(clientv3.GetPrefixRangeEnd(p), clientv3.WithRange(clientv3.GetPrefixRangeEnd(chunks))))
		} else {
			ops = append(ops, clientv3.OpDelete(chunks, clientv3.WithPrefix()))
		}
	}
	return flush()
}

// Package store provides mesaopt's records in etcd, the source of truth:
// run specs and statuses, fenced generation commits (checkpoint, lineage
// batch, summary and status in one transaction), the pruned lineage, and
// consistent reads at one revision. Large values are zstd blobs split into
// chunks (stored in raw zstd blocks where compression does not pay). A
// Store is safe for concurrent use; every write carries the Fence
// of the leadership it is made under and fails with ErrFenced, writing
// nothing, once that leadership is gone.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Store keeps runs in etcd, the source of truth. Key layout under prefix
// (default "/mesaopt/v1/"):
//
//	leader                          election prefix of the coordinators
//	runs/<run>/spec                 pb.ExperimentSpec, written once at submission
//	runs/<run>/status               pb.RunStatus, the run's lifecycle
//	runs/<run>/checkpoint/<gen>     pb.Blob of the pb.Checkpoint after generation gen
//	runs/<run>/lineage/<gen>        pb.Blob of the pb.LineageBatch born in generation gen
//	runs/<run>/summary/<gen>        pb.GenerationSummary of generation gen
//	runs/<run>/provenance/<gen>     pb.Provenance: which worker evaluated each genome of gen (no digest hashes it)
//	runs/<run>/chunks/<gen>/...     chunks of a large checkpoint blob (deleted with it)
//	runs/<run>/lineage-chunks/<gen>/...  chunks of a large lineage blob (kept)
//	sweeps/<sweep>                  pb.SweepRecord: a sweep's base spec, definition and run ids
//
// <gen> is zero-padded to 8 digits so keys sort by generation. Blobs are
// zstd frames of protobuf, compressed where that pays and raw blocks
// otherwise; a blob too large for one etcd request is split
// into chunks written (fenced) before the generation's transaction, and the
// blob that names them is written in that transaction, so a reader sees a
// generation entirely or not at all. A generation is committed by one
// transaction that writes its checkpoint, lineage batch, summary and status
// together, deletes checkpoints older than the retention, and succeeds only
// while the writer still holds the leadership it was elected with (the
// fence). Values are versioned protobuf: fields are added, never renumbered.
type Store struct {
	cli    Etcd
	prefix string
	rev    int64 // > 0: reads see etcd as of this revision (AtRevision)
}

// Etcd is what a Store needs of etcd: reads, transactions, compaction and
// watches. A *clientv3.Client is one; it must be safe for concurrent use,
// as the client is.
type Etcd interface {
	Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error)
	Txn(ctx context.Context) clientv3.Txn
	Compact(ctx context.Context, rev int64, opts ...clientv3.CompactOption) (*clientv3.CompactResponse, error)
	Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan
}

// DefaultPrefix is the key prefix of mesaopt's data in etcd.
const DefaultPrefix = "/mesaopt/v1/"

// Errors of the store.
var (
	// ErrNotFound: no such run.
	ErrNotFound = errors.New("not found")
	// ErrFenced: the writer is no longer the leader it was elected as.
	ErrFenced = errors.New("leadership lost: write refused")
	// ErrExists: a run with that id already exists.
	ErrExists = errors.New("run already exists")
)

// Fence identifies the leadership a write is made under: the election key
// and the revision at which it was created.
type Fence struct {
	Key string
	Rev int64
}

// New returns a store over cli with the given prefix ("" for DefaultPrefix).
func New(cli Etcd, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{cli: cli, prefix: prefix}
}

// AtRevision returns a store whose reads see etcd as it was at revision
// rev, so that several reads (a checkpoint and the lineage batches it
// needs) form one consistent view while a leader keeps writing. Reads fail
// with rpctypes.ErrCompacted once etcd compacted rev away. Writes are not
// affected.
func (s *Store) AtRevision(rev int64) *Store {
	at := *s
	at.rev = rev
	return &at
}

// Revision returns etcd's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("etcd: revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// read gets key (or a range, by opts) at the store's revision.
func (s *Store) read(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if s.rev > 0 {
		opts = append(opts, clientv3.WithRev(s.rev))
	}
	return s.cli.Get(ctx, key, opts...)
}

// chunks reads a blob's chunks at the store's revision.
func (s *Store) chunks() getFunc {
	return func(ctx context.Context, key string) ([]byte, bool, error) {
		resp, err := s.read(ctx, key)
		if err != nil {
			return nil, false, fmt.Errorf("etcd: get %s: %w", key, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, false, nil
		}
		return resp.Kvs[0].Value, true, nil
	}
}

func (s *Store) runKey(run string, parts ...string) string {
	return s.prefix + "runs/" + run + "/" + strings.Join(parts, "/")
}

func genKey(g uint32) string { return fmt.Sprintf("%08d", g) }

// LeaderPrefix is the election prefix.
func (s *Store) LeaderPrefix() string { return s.prefix + "leader" }

func (s *Store) fenced(f Fence) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Rev)
}

// marshal encodes m deterministically as a string value for etcd, without
// copying the encoding a second time (nothing else holds the bytes).
func marshal(m proto.Message) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", m, err)) // only for messages that cannot fail
	}
	return unsafeString(b)
}

// fencedTxn applies ops in one transaction that succeeds only while f
// holds: ErrFenced (nothing written) otherwise; what names it in errors.
func (s *Store) fencedTxn(ctx context.Context, f Fence, what string, ops ...clientv3.Op) error {
	resp, err := s.cli.Txn(ctx).If(s.fenced(f)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("etcd: %s: %w", what, err)
	}
	if !resp.Succeeded {
		return ErrFenced
	}
	return nil
}

// chunkWriters bounds the chunk writes of one commit in flight at once:
// etcd appends concurrent proposals to its log in one write and one fsync,
// so a large checkpoint's chunks do not each wait for a disk flush.
const chunkWriters = 4

// putChunks writes the chunks of blobs, each in its own fenced request and
// up to chunkWriters at a time, before the blobs that name them are
// written. It returns the first error (ErrFenced if any write was fenced).
func (s *Store) putChunks(ctx context.Context, f Fence, what string, blobs ...*encodedBlob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(chunkWriters)
	var fenced atomic.Bool
	for _, e := range blobs {
		for i, c := range e.chunks {
			key := chunkKey(e.blob.GetChunkPrefix(), i)
			g.Go(func() error {
				err := s.fencedTxn(gctx, f, fmt.Sprintf("chunk %d of %s", i, what), clientv3.OpPut(key, c))
				if errors.Is(err, ErrFenced) {
					fenced.Store(true)
				}
				return err
			})
		}
	}
	err := g.Wait()
	if fenced.Load() {
		return ErrFenced
	}
	return err
}

// CreateRun writes a new run's spec and status, failing with ErrExists if
// the id is taken or ErrFenced if f no longer holds.
func (s *Store) CreateRun(ctx context.Context, f Fence, spec *pb.ExperimentSpec, st *pb.RunStatus) error {
	specKey := s.runKey(st.GetRunId(), "spec")
	resp, err := s.cli.Txn(ctx).
		If(s.fenced(f), clientv3.Compare(clientv3.CreateRevision(specKey), "=", 0)).
		Then(clientv3.OpPut(specKey, marshal(spec)), clientv3.OpPut(s.runKey(st.GetRunId(), "status"), marshal(st))).
		Commit()
	if err != nil {
		return fmt.Errorf("etcd: create run %s: %w", st.GetRunId(), err)
	}
	if !resp.Succeeded {
		if _, err := s.Spec(ctx, st.GetRunId()); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, st.GetRunId())
		}
		return ErrFenced
	}
	return nil
}

// Commit writes generation cp.Generation: its chunks first (each fenced),
// then one transaction with the checkpoint and lineage blobs, the summary
// and the status, which also deletes checkpoints (and chunks) older than
// the newest keep generations. It fails with ErrFenced, writing nothing
// visible, unless f still holds. Commit is idempotent: retrying a commit
// whose outcome is unknown writes the same values.
func (s *Store) Commit(ctx context.Context, f Fence, cp *pb.Checkpoint, batch *pb.LineageBatch, st *pb.RunStatus, keep int) error {
	return s.CommitProvenance(ctx, f, cp, batch, st, keep, nil)
}

// CommitProvenance is Commit that also writes the generation's provenance
// (nil: none) in the same transaction.
func (s *Store) CommitProvenance(ctx context.Context, f Fence, cp *pb.Checkpoint, batch *pb.LineageBatch, st *pb.RunStatus, keep int, prov *pb.Provenance) error {
	run := cp.GetRunId()
	gen := cp.GetGeneration()
	g := genKey(gen)
	cpBlob := encodeBlob(cp, s.runKey(run, "chunks", g, "checkpoint", ""), checkpointBufs)
	defer cpBlob.release()
	lnBlob := encodeBlob(batch, s.runKey(run, "lineage-chunks", g, ""), lineageBufs)
	defer lnBlob.release()
	what := fmt.Sprintf("generation %d of %s", gen, run)
	if err := s.putChunks(ctx, f, what, cpBlob, lnBlob); err != nil {
		return err
	}
	ops := []clientv3.Op{
		clientv3.OpPut(s.runKey(run, "checkpoint", g), cpBlob.value),
		clientv3.OpPut(s.runKey(run, "lineage", g), lnBlob.value),
		clientv3.OpPut(s.runKey(run, "summary", g), marshal(cp.GetSummary())),
		clientv3.OpPut(s.runKey(run, "status"), marshal(st)),
	}
	if prov != nil {
		ops = append(ops, clientv3.OpPut(s.runKey(run, "provenance", g), marshal(prov)))
	}
	if keep > 0 && int64(gen)+1 > int64(keep) {
		oldest := genKey(gen + 1 - uint32(keep)) // first generation kept
		ops = append(ops,
			clientv3.OpDelete(s.runKey(run, "checkpoint", ""), clientv3.WithRange(s.runKey(run, "checkpoint", oldest))),
			clientv3.OpDelete(s.runKey(run, "chunks", ""), clientv3.WithRange(s.runKey(run, "chunks", oldest))),
		)
	}
	return s.fencedTxn(ctx, f, "commit "+what, ops...)
}

// Provenance returns which worker evaluated each genome of generation gen
// (ErrNotFound when not recorded: an in-process run, an older version).
func (s *Store) Provenance(ctx context.Context, run string, gen uint32) (*pb.Provenance, error) {
	var p pb.Provenance
	if err := s.get(ctx, s.runKey(run, "provenance", genKey(gen)), fmt.Sprintf("provenance of generation %d of run %s", gen, run), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Rollback forgets every generation of run after keep (all of them when
// keep < 0) — checkpoints, lineage batches, summaries, provenance and
// their chunks — and writes st, in one transaction under fence f: the run
// then continues from keep's checkpoint as if the later generations had
// never been evaluated. For results found to come from a lying worker.
func (s *Store) Rollback(ctx context.Context, f Fence, run string, keep int64, st *pb.RunStatus) error {
	first := ""
	if keep >= 0 {
		first = genKey(uint32(keep + 1))
	}
	ops := []clientv3.Op{clientv3.OpPut(s.runKey(run, "status"), marshal(st))}
	for _, kind := range []string{"checkpoint", "chunks", "lineage", "lineage-chunks", "summary", "provenance"} {
		prefix := s.runKey(run, kind, "")
		ops = append(ops, clientv3.OpDelete(prefix+first, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))))
	}
	return s.fencedTxn(ctx, f, fmt.Sprintf("rollback of %s to generation %d", run, keep), ops...)
}

// CompactEvery is how many generations a run commits between compactions
// of etcd's history (the old revisions of the keys it rewrites, and deleted
// ones): often enough that a long run stays far inside etcd's quota, rarely
// enough that watchers seldom have to re-read.
const CompactEvery = 100

// Compact compacts etcd's history up to the current revision so that a
// long run does not fill etcd's quota with old versions of its keys.
// Watchers behind it see a compaction and re-read (see WatchRun).
func (s *Store) Compact(ctx context.Context) error {
	rev, err := s.Revision(ctx)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if _, err := s.cli.Compact(ctx, rev); err != nil {
		return fmt.Errorf("etcd: compact to %d: %w", rev, err)
	}
	return nil
}

// UpdateRun rewrites a run's spec and status together under fence f.
func (s *Store) UpdateRun(ctx context.Context, f Fence, spec *pb.ExperimentSpec, st *pb.RunStatus) error {
	return s.fencedTxn(ctx, f, "update run "+st.GetRunId(),
		clientv3.OpPut(s.runKey(st.GetRunId(), "spec"), marshal(spec)),
		clientv3.OpPut(s.runKey(st.GetRunId(), "status"), marshal(st)))
}

// PutGeneration writes the lineage batch (nil: none) and summary of
// generation gen without a checkpoint (the shared history of a fork),
// under fence f.
func (s *Store) PutGeneration(ctx context.Context, f Fence, run string, gen uint32, batch *pb.LineageBatch, sum *pb.GenerationSummary) error {
	g := genKey(gen)
	what := fmt.Sprintf("generation %s of %s", g, run)
	if len(batch.GetIndividuals()) > 0 {
		blob := encodeBlob(batch, s.runKey(run, "lineage-chunks", g, ""), lineageBufs)
		err := s.putChunks(ctx, f, what, blob)
		if err == nil {
			err = s.fencedTxn(ctx, f, what, clientv3.OpPut(s.runKey(run, "lineage", g), blob.value))
		}
		blob.release()
		if err != nil {
			return err
		}
	}
	return s.fencedTxn(ctx, f, what, clientv3.OpPut(s.runKey(run, "summary", g), marshal(sum)))
}

// SetStatus writes a run's status under fence f.
func (s *Store) SetStatus(ctx context.Context, f Fence, st *pb.RunStatus) error {
	return s.fencedTxn(ctx, f, "status of "+st.GetRunId(), clientv3.OpPut(s.runKey(st.GetRunId(), "status"), marshal(st)))
}

// get reads one value; what names it in errors ("run x", "checkpoint of run x").
func (s *Store) get(ctx context.Context, key, what string, m proto.Message) error {
	resp, err := s.read(ctx, key)
	if err != nil {
		return fmt.Errorf("etcd: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("%w: %s (no key %s)", ErrNotFound, what, key)
	}
	if err := proto.Unmarshal(resp.Kvs[0].Value, m); err != nil {
		return fmt.Errorf("etcd: value of %s is corrupt: %w", key, err)
	}
	return nil
}

// Spec returns a run's spec (ErrNotFound if the run is unknown).
func (s *Store) Spec(ctx context.Context, run string) (*pb.ExperimentSpec, error) {
	var m pb.ExperimentSpec
	return &m, s.get(ctx, s.runKey(run, "spec"), fmt.Sprintf("run %q", run), &m)
}

// Status returns a run's status.
func (s *Store) Status(ctx context.Context, run string) (*pb.RunStatus, error) {
	var m pb.RunStatus
	return &m, s.get(ctx, s.runKey(run, "status"), fmt.Sprintf("run %q", run), &m)
}

// Checkpoint returns a run's newest checkpoint (ErrNotFound if none yet).
func (s *Store) Checkpoint(ctx context.Context, run string) (*pb.Checkpoint, error) {
	prefix := s.runKey(run, "checkpoint", "")
	resp, err := s.read(ctx, prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(1))
	if err != nil {
		return nil, fmt.Errorf("etcd: checkpoints of %s: %w", run, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: checkpoint of run %q (no key under %s)", ErrNotFound, run, prefix)
	}
	var cp pb.Checkpoint
	key := string(resp.Kvs[0].Key)
	if err := decodeBlob(ctx, s.chunks(), key, resp.Kvs[0].Value, &cp); err != nil {
		return nil, err
	}
	if want := genKey(cp.GetGeneration()); !strings.HasSuffix(key, "/"+want) || cp.GetRunId() != run {
		return nil, fmt.Errorf("etcd: value of %s is corrupt: holds generation %d of run %q", key, cp.GetGeneration(), cp.GetRunId())
	}
	return &cp, nil
}

// CheckpointAt returns a run's checkpoint of generation gen, if retained.
func (s *Store) CheckpointAt(ctx context.Context, run string, gen uint32) (*pb.Checkpoint, error) {
	key := s.runKey(run, "checkpoint", genKey(gen))
	resp, err := s.read(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("etcd: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: checkpoint of generation %d of run %q (not retained or not reached)", ErrNotFound, gen, run)
	}
	var cp pb.Checkpoint
	if err := decodeBlob(ctx, s.chunks(), key, resp.Kvs[0].Value, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// CheckpointGenerations lists the generations whose checkpoints are retained.
func (s *Store) CheckpointGenerations(ctx context.Context, run string) ([]uint32, error) {
	prefix := s.runKey(run, "checkpoint", "")
	resp, err := s.read(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("etcd: checkpoints of %s: %w", run, err)
	}
	var out []uint32
	for _, kv := range resp.Kvs {
		if g, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), prefix), 10, 32); err == nil {
			out = append(out, uint32(g))
		}
	}
	return out, nil
}

// Lineage returns a run's lineage batches in generation order, up to and
// including generation upTo.
func (s *Store) Lineage(ctx context.Context, run string, upTo uint32) ([]*pb.LineageBatch, error) {
	var out []*pb.LineageBatch
	err := s.scan(ctx, s.runKey(run, "lineage", ""), func(key string, v []byte) error {
		var b pb.LineageBatch
		if err := decodeBlob(ctx, s.chunks(), key, v, &b); err != nil {
			return err
		}
		if b.GetGeneration() <= upTo {
			out = append(out, &b)
		}
		return nil
	})
	return out, err
}

// Summaries returns a run's generation summaries in generation order and
// the etcd revision they were read at.
func (s *Store) Summaries(ctx context.Context, run string) ([]*pb.GenerationSummary, int64, error) {
	var out []*pb.GenerationSummary
	resp, err := s.read(ctx, s.runKey(run, "summary", ""), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, fmt.Errorf("etcd: summaries of %s: %w", run, err)
	}
	for _, kv := range resp.Kvs {
		var m pb.GenerationSummary
		if err := proto.Unmarshal(kv.Value, &m); err != nil {
			return nil, 0, fmt.Errorf("etcd: value of %s is corrupt: %w", kv.Key, err)
		}
		out = append(out, &m)
	}
	return out, resp.Header.Revision, nil
}

// scan visits every key under prefix in key order, a page at a time.
func (s *Store) scan(ctx context.Context, prefix string, visit func(key string, v []byte) error) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		resp, err := s.read(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(256),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return fmt.Errorf("etcd: range %s: %w", prefix, err)
		}
		for _, kv := range resp.Kvs {
			if err := visit(string(kv.Key), kv.Value); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// RunIDs lists the ids of all runs, in key order.
func (s *Store) RunIDs(ctx context.Context) ([]string, error) {
	resp, err := s.read(ctx, s.prefix+"runs/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("etcd: list runs: %w", err)
	}
	var ids []string
	for _, kv := range resp.Kvs {
		k := strings.TrimPrefix(string(kv.Key), s.prefix+"runs/")
		if id, rest, ok := strings.Cut(k, "/"); ok && rest == "status" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// CreateSweep writes a new sweep's record, failing with ErrExists if the
// id is taken or ErrFenced if f no longer holds. Its runs are created
// one by one afterwards (CreateRun); a run the record names but etcd does
// not hold yet is one a coordinator stopped before creating.
func (s *Store) CreateSweep(ctx context.Context, f Fence, rec *pb.SweepRecord) error {
	key := s.prefix + "sweeps/" + rec.GetSweepId()
	resp, err := s.cli.Txn(ctx).
		If(s.fenced(f), clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, marshal(rec))).
		Commit()
	if err != nil {
		return fmt.Errorf("etcd: create sweep %s: %w", rec.GetSweepId(), err)
	}
	if !resp.Succeeded {
		if _, err := s.Sweep(ctx, rec.GetSweepId()); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, rec.GetSweepId())
		}
		return ErrFenced
	}
	return nil
}

// Sweep returns a sweep's record (ErrNotFound if the sweep is unknown).
func (s *Store) Sweep(ctx context.Context, id string) (*pb.SweepRecord, error) {
	var m pb.SweepRecord
	return &m, s.get(ctx, s.prefix+"sweeps/"+id, fmt.Sprintf("sweep %q", id), &m)
}

// SweepIDs lists the ids of all sweeps, in key order.
func (s *Store) SweepIDs(ctx context.Context) ([]string, error) {
	resp, err := s.read(ctx, s.prefix+"sweeps/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("etcd: list sweeps: %w", err)
	}
	var ids []string
	for _, kv := range resp.Kvs {
		ids = append(ids, strings.TrimPrefix(string(kv.Key), s.prefix+"sweeps/"))
	}
	return ids, nil
}

// Watch watches every key of a run from revision rev on.
func (s *Store) Watch(ctx context.Context, run string, rev int64) clientv3.WatchChan {
	return s.cli.Watch(ctx, s.runKey(run, ""), clientv3.WithPrefix(), clientv3.WithRev(rev))
}

// IsSummaryKey reports whether key is a run's summary key.
func (s *Store) IsSummaryKey(key string) bool { return strings.Contains(key, "/summary/") }

// IsStatusKey reports whether key is a run's status key.
func (s *Store) IsStatusKey(key string) bool { return strings.HasSuffix(key, "/status") }

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
		e := encodeBlob(b, chunks, lineageBufs)
		// Chunks go first; the blob naming them follows in a later transaction.
		err := s.putChunks(ctx, f, "pruned lineage of "+run, e)
		blob := e.blob
		ops = append(ops, clientv3.OpPut(key, e.value)) // OpPut copies: e's buffers can go back
		e.release()
		if err != nil {
			return err
		}
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

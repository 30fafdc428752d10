package store

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// etcdWithDefaultLimit starts an embedded etcd with etcd's own default
// request limit (1.5 MiB), as an external cluster would have.
func etcdWithDefaultLimit(t testing.TB) *clientv3.Client {
	t.Helper()
	if ext := os.Getenv("MESAOPT_TEST_ETCD"); ext != "" {
		cli := testenv.Client(t, ext)
		// Tests here use fixed run ids: start from a clean slate.
		if _, err := cli.Delete(context.Background(), DefaultPrefix, clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		return cli
	}
	return testenv.Client(t, testenv.Etcd(t, 3<<19).Endpoints()...)
}

// bigCheckpoint is a checkpoint of n heuristic genomes (about 4 KiB each
// before compression).
func bigCheckpoint(run string, gen uint32, n int) (*pb.Checkpoint, *pb.LineageBatch) {
	shape := fitness.Shape()
	v := genome.DefaultVariation()
	cp := &pb.Checkpoint{FormatVersion: 1, RunId: run, Generation: gen, NextId: uint64(n), Spec: experiment.Default().ToProto(),
		Summary: &pb.GenerationSummary{Generation: gen, Digest: "d"}}
	batch := &pb.LineageBatch{Generation: gen}
	for i := range n {
		g := genome.Random(shape, genome.KindHeuristic, v, stream.New(uint64(gen), stream.PurposeInitialPopulation, uint64(i)))
		cp.Population = append(cp.Population, &pb.Member{Id: uint64(i), Genome: genome.ToProto(g), Fitness: float64(i)})
		batch.Individuals = append(batch.Individuals, &pb.Individual{Id: uint64(i), Generation: gen, Objective: g.Heuristic.Weights})
	}
	return cp, batch
}

// leaderFence makes the caller the holder of a fence key, as an elected
// coordinator is.
func leaderFence(t testing.TB, cli *clientv3.Client, key string) Fence {
	t.Helper()
	if _, err := cli.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Put(context.Background(), key, "me")
	if err != nil {
		t.Fatal(err)
	}
	return Fence{Key: key, Rev: resp.Header.Revision}
}

func TestCommitLargeCheckpointChunkedAndRetained(t *testing.T) {
	cli := etcdWithDefaultLimit(t)
	s := New(cli, "")
	ctx := context.Background()
	f := leaderFence(t, cli, "/fence")
	const keep = 2
	var want *pb.Checkpoint
	for gen := uint32(0); gen < 4; gen++ {
		cp, batch := bigCheckpoint("r1", gen, 1500) // ~6 MiB raw: chunked under a 1.5 MiB limit
		st := &pb.RunStatus{RunId: "r1", State: pb.RunState_RUN_STATE_RUNNING, GenerationsDone: gen + 1}
		if err := s.Commit(ctx, f, cp, batch, st, keep); err != nil {
			t.Fatalf("generation %d: %v", gen, err)
		}
		want = cp
	}
	got, err := s.Checkpoint(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatal("checkpoint changed through etcd")
	}
	gens, err := s.CheckpointGenerations(ctx, "r1")
	if err != nil || len(gens) != keep || gens[0] != 2 || gens[1] != 3 {
		t.Fatalf("retained generations %v (%v), want [2 3]", gens, err)
	}
	chunks, err := cli.Get(ctx, DefaultPrefix+"runs/r1/chunks/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range chunks.Kvs {
		if !strings.Contains(string(kv.Key), "/chunks/00000002/") && !strings.Contains(string(kv.Key), "/chunks/00000003/") {
			t.Fatalf("chunk of a deleted checkpoint left behind: %s", kv.Key)
		}
	}
	if len(chunks.Kvs) == 0 {
		t.Fatal("a 6 MiB checkpoint was not chunked")
	}
	// Lineage is never subject to retention, chunks included.
	lin, err := s.Lineage(ctx, "r1", 3)
	if err != nil || len(lin) != 4 || len(lin[0].GetIndividuals()) != 1500 {
		t.Fatalf("lineage: %v, %d batches", err, len(lin))
	}
	lc, err := cli.Get(ctx, DefaultPrefix+"runs/r1/lineage-chunks/00000000/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || lc.Count == 0 {
		t.Fatalf("the lineage of generation 0 was not chunked (%v)", err)
	}
}

func TestCommitFencedWritesNothing(t *testing.T) {
	cli := etcdWithDefaultLimit(t)
	s := New(cli, "")
	ctx := context.Background()
	f := leaderFence(t, cli, "/fence")
	if _, err := cli.Delete(ctx, "/fence"); err != nil { // the old leader's key expired...
		t.Fatal(err)
	}
	leaderFence(t, cli, "/fence") // ...and a new leader holds one of the same name
	cp, batch := bigCheckpoint("r2", 0, 600)
	err := s.Commit(ctx, f, cp, batch, &pb.RunStatus{RunId: "r2"}, 3)
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("got %v, want ErrFenced", err)
	}
	resp, err := cli.Get(ctx, DefaultPrefix+"runs/r2/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Fatalf("a fenced commit wrote %d keys (%v)", resp.Count, err)
	}
}

func TestCorruptCheckpointIsAClearError(t *testing.T) {
	cli := etcdWithDefaultLimit(t)
	s := New(cli, "")
	ctx := context.Background()
	f := leaderFence(t, cli, "/fence")
	cp, batch := bigCheckpoint("r3", 0, 3)
	if err := s.Commit(ctx, f, cp, batch, &pb.RunStatus{RunId: "r3"}, 3); err != nil {
		t.Fatal(err)
	}
	key := DefaultPrefix + "runs/r3/checkpoint/00000000"
	for _, bad := range []string{"\xff\xfe garbage", marshal(&pb.Blob{Encoding: pb.BlobEncoding_BLOB_ENCODING_ZSTD, Data: []byte("xx")}), ""} {
		if _, err := cli.Put(ctx, key, bad); err != nil {
			t.Fatal(err)
		}
		_, err := s.Checkpoint(ctx, "r3")
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("corrupt value %q: got %v", bad, err)
		}
	}
}

// mixedCheckpoint is a checkpoint of n genomes, half planners and half
// heuristics, as evolution produces them.
func mixedCheckpoint(run string, gen uint32, n int) (*pb.Checkpoint, *pb.LineageBatch) {
	shape := fitness.Shape()
	v := genome.DefaultVariation()
	cp := &pb.Checkpoint{FormatVersion: 1, RunId: run, Generation: gen, NextId: uint64(n) * uint64(gen+1), Spec: experiment.Default().ToProto(),
		Summary: &pb.GenerationSummary{Generation: gen, Digest: "d"}}
	batch := &pb.LineageBatch{Generation: gen}
	for i := range n {
		kind := genome.KindPlanner
		if i%2 == 1 {
			kind = genome.KindHeuristic
		}
		g := genome.Random(shape, kind, v, stream.New(uint64(gen), stream.PurposeInitialPopulation, uint64(i)))
		id := uint64(n)*uint64(gen) + uint64(i)
		cp.Population = append(cp.Population, &pb.Member{Id: id, Genome: genome.ToProto(g), Fitness: float64(i) / float64(n)})
		rec := &pb.Individual{Id: id, Generation: gen, Parents: []uint64{id - uint64(n)}, Operators: []string{genome.OpGaussian},
			Fitness: 0.5, Train: &pb.ConditionScore{Condition: "train", Base: 1}, Shifted: []*pb.ConditionScore{{Condition: "shifted", Base: 0.2}}}
		if kind == genome.KindPlanner {
			rec.Objective = g.Planner.Objective
		}
		batch.Individuals = append(batch.Individuals, rec)
	}
	return cp, batch
}

// BenchmarkCommit measures writing one generation (checkpoint, lineage,
// summary, status) to etcd with the default request limit. It reports the
// protobuf bytes encoded per generation (raw-bytes/gen), the value bytes
// sent to etcd (written-bytes/gen: chunks, blobs, summary and status) and
// the heap allocated per generation over them (alloc/written). With the
// embedded etcd (MESAOPT_TEST_ETCD unset) the server's own allocations
// (raft log, WAL, bbolt) are in B/op and alloc/written too; against an
// external etcd they are the coordinator's alone.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{48, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			cli := etcdWithDefaultLimit(b)
			s := New(cli, "")
			f := leaderFence(b, cli, "/fence")
			cp, batch := mixedCheckpoint("bench", 0, n)
			st := &pb.RunStatus{RunId: "bench", GenerationsDone: 1}
			raw := len(marshal(cp)) + len(marshal(batch))
			written := len(marshal(cp.GetSummary())) + len(marshal(st))
			for _, m := range []struct {
				msg  proto.Message
				bufs bufList
			}{{cp, checkpointBufs}, {batch, lineageBufs}} {
				e := encodeBlob(m.msg, "x/", m.bufs)
				written += len(e.value)
				for _, c := range e.chunks {
					written += len(c)
				}
				e.release() // its buffers serve the commits, as in a run's steady state
			}
			ctx := context.Background()
			var before, after runtime.MemStats
			b.ReportAllocs()
			b.ResetTimer()
			runtime.ReadMemStats(&before)
			for i := 0; b.Loop(); i++ {
				cp.Generation = uint32(i)
				batch.Generation = uint32(i)
				st.GenerationsDone = uint32(i + 1)
				if err := s.Commit(ctx, f, cp, batch, st, 5); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(raw), "raw-bytes/gen")
			b.ReportMetric(float64(written), "written-bytes/gen")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(written), "alloc/written")
		})
	}
}

// BenchmarkResumeRead measures what a resume reads: the newest checkpoint
// and the lineage of 100 generations of 1,000 genomes.
func BenchmarkResumeRead(b *testing.B) {
	cli := etcdWithDefaultLimit(b)
	s := New(cli, "")
	f := leaderFence(b, cli, "/fence")
	ctx := context.Background()
	for g := uint32(0); g < 100; g++ {
		cp, batch := mixedCheckpoint("r", g, 1000)
		if err := s.Commit(ctx, f, cp, batch, &pb.RunStatus{RunId: "r", GenerationsDone: g + 1}, 5); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		cp, err := s.Checkpoint(ctx, "r")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Lineage(ctx, "r", cp.GetGeneration()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEtcdSize1000Generations commits 1,000 generations of the default
// population with the default retention and compaction every 100
// generations, and reports etcd's database size (after defragmentation,
// which reclaims the space compaction frees) and the keys kept.
func BenchmarkEtcdSize1000Generations(b *testing.B) {
	for b.Loop() {
		cli := etcdWithDefaultLimit(b)
		s := New(cli, "")
		f := leaderFence(b, cli, "/fence")
		ctx := context.Background()
		for g := uint32(0); g < 1000; g++ {
			cp, batch := mixedCheckpoint("r", g, experiment.Default().Population)
			if err := s.Commit(ctx, f, cp, batch, &pb.RunStatus{RunId: "r", GenerationsDone: g + 1}, experiment.Default().CheckpointRetention); err != nil {
				b.Fatal(err)
			}
			if (g+1)%CompactEvery == 0 {
				if err := s.Compact(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		ep := cli.Endpoints()[0]
		if _, err := cli.Defragment(ctx, ep); err != nil {
			b.Fatal(err)
		}
		st, err := cli.Status(ctx, ep)
		if err != nil {
			b.Fatal(err)
		}
		keys, err := cli.Get(ctx, DefaultPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.DbSize), "db-bytes")
		b.ReportMetric(float64(st.DbSizeInUse), "db-in-use-bytes")
		b.ReportMetric(float64(keys.Count), "keys")
	}
}

package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

func lineageClient(t *testing.T, c *coordinator.Coordinator) rpc.LineageServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return rpc.NewLineageServiceClient(conn)
}

func export(t *testing.T, lc rpc.LineageServiceClient, run string, f pb.ExportFormat) []byte {
	t.Helper()
	return []byte(exportWith(t, lc, &pb.ExportPhylogenyRequest{RunId: run, Format: f}))
}

// TestLineageService runs a small experiment and checks the lineage API
// over real gRPC: pruning bounds what is kept (in memory and in etcd),
// per-generation stats, MRCA, descendants, the exports and bad input.
func TestLineageService(t *testing.T) {
	cli := startEtcd(t)
	c := startCoordinator(t, cli, worker.NewEngine(2))
	spec := smallSpec()
	spec.Generations = 6
	run := runToEnd(t, c, spec)
	id := run.GetRunId()
	lc := lineageClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	stats, err := lc.GetGenerationStats(ctx, &pb.GetGenerationStatsRequest{RunId: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.GetStats()) != spec.Generations {
		t.Fatalf("%d generation stats, want %d", len(stats.GetStats()), spec.Generations)
	}
	lastStats := stats.GetStats()[spec.Generations-1]
	births := uint64(spec.Population * spec.Generations)
	if lastStats.GetBirths() != births || lastStats.GetRetained() >= births || lastStats.GetRetained() < uint64(spec.Population) ||
		lastStats.GetExtant() != uint32(spec.Population) || lastStats.GetStoredBytes() <= 0 || lastStats.GetRetainedBytes() <= 0 {
		t.Errorf("last stats: %v, want %d births, fewer retained, %d extant", lastStats, births, spec.Population)
	}
	for _, s := range stats.GetStats() {
		if s.GetCoalesced() && s.GetMrcaDepth() == 0 && s.GetGeneration() > 0 {
			t.Errorf("generation %d coalesced at depth 0", s.GetGeneration())
		}
	}

	// etcd holds exactly the retained records once the run is done.
	batches, err := store.New(cli, prefixOf(cli)).Lineage(ctx, id, ^uint32(0))
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, b := range batches {
		stored += len(b.GetIndividuals())
	}
	if uint64(stored) != lastStats.GetRetained() {
		t.Errorf("etcd holds %d lineage records, the lineage retains %d", stored, lastStats.GetRetained())
	}

	// The ALife CSV parses back into the same tree the service answers.
	csv := export(t, lc, id, pb.ExportFormat_EXPORT_FORMAT_ALIFE)
	parsed := lineage.NewStore()
	if err := lineage.ReadALife(bytes.NewReader(csv), parsed.Add); err != nil {
		t.Fatalf("exported CSV does not read back: %v", err)
	}
	if uint64(parsed.Len()) != lastStats.GetRetained() {
		t.Fatalf("CSV has %d records, want %d", parsed.Len(), lastStats.GetRetained())
	}
	for _, r := range parsed.Records() {
		got, err := lc.GetIndividual(ctx, &pb.GetIndividualRequest{RunId: id, IndividualId: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := coordinator.RecordFromProto(got.GetIndividual())
		if r.Generation != want.Generation || !equalIDs(r.Parents, want.Parents) || r.Fitness != want.Fitness ||
			r.Flagged != want.Flagged || r.Champion != want.Champion {
			t.Fatalf("CSV record %d = %+v, service has %+v", r.ID, r, want)
		}
	}
	newick := string(export(t, lc, id, pb.ExportFormat_EXPORT_FORMAT_NEWICK))
	if !strings.HasSuffix(newick, ";\n") || strings.Count(newick, "(") != strings.Count(newick, ")") {
		t.Errorf("Newick is malformed: %q", newick)
	}
	if dot := string(export(t, lc, id, pb.ExportFormat_EXPORT_FORMAT_DOT)); !strings.HasPrefix(dot, "digraph phylogeny {") {
		t.Errorf("DOT: %q", dot[:min(len(dot), 80)])
	}

	// MRCA of the final population is the one the stats name.
	var last []uint64
	for _, r := range parsed.Records() {
		if r.Generation == uint32(spec.Generations-1) {
			last = append(last, r.ID)
		}
	}
	mrca, err := lc.GetMRCA(ctx, &pb.GetMRCARequest{RunId: id, IndividualIds: last})
	if err != nil {
		t.Fatal(err)
	}
	if lastStats.GetCoalesced() != (mrca.GetMrca() != nil) || (mrca.GetMrca() != nil &&
		(mrca.GetMrca().GetId() != lastStats.GetMrcaId() || mrca.GetDepth() != lastStats.GetMrcaDepth())) {
		t.Errorf("GetMRCA = %v depth %d; stats say %v", mrca.GetMrca().GetId(), mrca.GetDepth(), lastStats)
	}
	root := parsed.Records()[0].ID
	desc, err := lc.GetDescendants(ctx, &pb.GetDescendantsRequest{RunId: id, IndividualId: root, MaxDepth: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range desc.GetIndividuals() {
		if d.GetGeneration() == 0 {
			t.Errorf("descendant %d of %d is from generation 0", d.GetId(), root)
		}
	}

	// The watch of a finished run sends every generation and ends.
	w, err := lc.WatchGenerations(ctx, &pb.WatchGenerationsRequest{RunId: id, FromGeneration: 2})
	if err != nil {
		t.Fatal(err)
	}
	var watched []uint32
	for {
		msg, err := w.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		watched = append(watched, msg.GetStats().GetGeneration())
	}
	if len(watched) != spec.Generations-2 || watched[0] != 2 {
		t.Errorf("watched generations %v, want 2..%d", watched, spec.Generations-1)
	}

	// Bad input.
	u32 := func(v uint32) *uint32 { return &v }
	tests := []struct {
		name string
		call func() error
		code codes.Code
		want string
	}{
		{"unknown run", func() error {
			_, err := lc.GetGenerationStats(ctx, &pb.GetGenerationStatsRequest{RunId: "nope"})
			return err
		}, codes.NotFound, "nope"},
		{"unknown individual", func() error {
			_, err := lc.GetMRCA(ctx, &pb.GetMRCARequest{RunId: id, IndividualIds: []uint64{last[0], 1 << 40}})
			return err
		}, codes.NotFound, "individual 1099511627776"},
		{"no ids", func() error { _, err := lc.GetMRCA(ctx, &pb.GetMRCARequest{RunId: id}); return err }, codes.InvalidArgument, "individual_ids"},
		{"unknown condition", func() error {
			_, err := lc.ListFlagged(ctx, &pb.ListFlaggedRequest{RunId: id, Condition: "dark"})
			return err
		}, codes.InvalidArgument, `condition = "dark"`},
		{"range upside down", func() error {
			_, err := lc.ListFlagged(ctx, &pb.ListFlaggedRequest{RunId: id, MinGeneration: u32(4), MaxGeneration: u32(2)})
			return err
		}, codes.InvalidArgument, "min_generation = 4"},
		{"generation and range", func() error {
			_, err := lc.ListFlagged(ctx, &pb.ListFlaggedRequest{RunId: id, Generation: u32(1), MinGeneration: u32(0)})
			return err
		}, codes.InvalidArgument, "generation"},
		{"bad kind", func() error {
			_, err := lc.ListFlagged(ctx, &pb.ListFlaggedRequest{RunId: id, Kind: 9})
			return err
		}, codes.InvalidArgument, "kind = 9"},
		{"bad page token", func() error {
			_, err := lc.ListFlagged(ctx, &pb.ListFlaggedRequest{RunId: id, PageToken: "zzz"})
			return err
		}, codes.InvalidArgument, "page_token"},
		{"descendants too deep", func() error {
			_, err := lc.GetDescendants(ctx, &pb.GetDescendantsRequest{RunId: id, IndividualId: root, MaxDepth: 5000})
			return err
		}, codes.InvalidArgument, "max_depth = 5000"},
		{"no export format", func() error {
			s, err := lc.ExportPhylogeny(ctx, &pb.ExportPhylogenyRequest{RunId: id})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}, codes.InvalidArgument, "format"},
	}
	for _, tt := range tests {
		err := tt.call()
		if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.code, tt.want)
		}
	}

	// Every flagged planner of the run, paginated over a range.
	req := &pb.ListFlaggedRequest{RunId: id, MinGeneration: u32(0), PageSize: 2}
	n := 0
	for {
		resp, err := lc.ListFlagged(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		n += len(resp.GetIndividuals())
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	flagged := 0
	for _, r := range parsed.Records() {
		if r.Flagged {
			flagged++
		}
	}
	if n != flagged {
		t.Errorf("paginated ListFlagged over the run returned %d, the CSV has %d flagged", n, flagged)
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

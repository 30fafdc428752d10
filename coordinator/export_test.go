package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// TestExportPhylogenyScopes exports a finished run over gRPC: the ALife
// CSV carries destruction_time (inf for the last generation only), every
// Newick label is id<ID>, the default DOT draws exactly the lines of descent
// of the champions and the drift origins, and full = true draws every
// retained individual.
func TestExportPhylogenyScopes(t *testing.T) {
	cli := startEtcd(t)
	c := startCoordinator(t, cli, worker.NewEngine(2))
	spec := smallSpec()
	spec.Generations = 4
	id := runToEnd(t, c, spec).GetRunId()
	lc := lineageClient(t, c)

	csv := string(export(t, lc, id, pb.ExportFormat_EXPORT_FORMAT_ALIFE))
	if !strings.HasPrefix(csv, "id,ancestor_list,origin_time,destruction_time,") {
		t.Fatalf("ALife header: %.80q", csv)
	}
	tree := lineage.NewStore()
	if err := lineage.ReadALife(strings.NewReader(csv), tree.Add); err != nil {
		t.Fatal(err)
	}
	last := uint32(spec.Generations - 1)
	wantInf := len(tree.Generation(last))
	if n := len(regexp.MustCompile(`(?m)^\d+,("\[[^]]*\]"|\[[^]]*\]),\d+,inf,`).FindAllString(csv, -1)); n != wantInf {
		t.Errorf("%d rows with destruction_time inf, want the %d of the last generation", n, wantInf)
	}

	newick := string(export(t, lc, id, pb.ExportFormat_EXPORT_FORMAT_NEWICK))
	if labels := regexp.MustCompile(`[(),]id\d+:`).FindAllString(" "+strings.ReplaceAll(newick, ")", "),"), -1); len(labels) != tree.Len() {
		t.Errorf("Newick has %d id<N> labels, want %d: %.200s", len(labels), tree.Len(), newick)
	}

	// The champions' and drift origins' lines, within the flagged planners' and champions'.
	onLines, flaggedLines := map[uint64]bool{}, map[uint64]bool{}
	add := func(lines map[uint64]bool, id uint64) {
		line, err := tree.LineOfDescent(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range line {
			lines[a.ID] = true
		}
	}
	for _, r := range tree.Records() {
		if r.Champion {
			add(onLines, r.ID)
			add(flaggedLines, r.ID)
		}
		if r.Flagged && r.Kind == genome.KindPlanner {
			add(flaggedLines, r.ID)
			o, _, err := tree.DriftOrigin(r.ID)
			if err != nil {
				t.Fatal(err)
			}
			add(onLines, o.Ancestor.ID)
		}
	}
	node := regexp.MustCompile(`(?m)^  \d+ \[label=`)
	dot := exportWith(t, lc, &pb.ExportPhylogenyRequest{RunId: id, Format: pb.ExportFormat_EXPORT_FORMAT_DOT})
	if n := len(node.FindAllString(dot, -1)); n != len(onLines) || n > len(flaggedLines) {
		t.Errorf("default DOT draws %d individuals, want the %d on champion and drift origin lines (of %d on flagged and champion lines)",
			n, len(onLines), len(flaggedLines))
	}
	full := exportWith(t, lc, &pb.ExportPhylogenyRequest{RunId: id, Format: pb.ExportFormat_EXPORT_FORMAT_DOT, Full: true})
	if n := len(node.FindAllString(full, -1)); n != tree.Len() {
		t.Errorf("full DOT draws %d individuals, want all %d", n, tree.Len())
	}
	t.Logf("%d retained, %d on champion and drift origin lines, %d on flagged and champion lines", tree.Len(), len(onLines), len(flaggedLines))
}

// exportWith is export with any request.
func exportWith(t *testing.T, lc rpc.LineageServiceClient, req *pb.ExportPhylogenyRequest) string {
	t.Helper()
	stream, err := lc.ExportPhylogeny(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return buf.String()
		}
		if err != nil {
			t.Fatalf("export %v: %v", req, err)
		}
		buf.Write(msg.GetChunk())
	}
}

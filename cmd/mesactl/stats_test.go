package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// statsRun is a hand-made run of three generations: generation 0 mostly
// zeros, generation 1 with floats that need all 17 digits and a condition
// the spec does not name, generation 2 shaped like a record written before
// horizon counts, mean features and lineage metrics existed.
func statsRun() *pb.Run {
	horizons := make([]uint32, genome.MaxHorizon)
	horizons[0], horizons[2], horizons[15] = 3, 1, 2
	return &pb.Run{
		RunId:        "r1",
		Spec:         &pb.ExperimentSpec{ShiftedConditions: []string{"blue-doors", "red-objects"}},
		FeatureNames: []string{"at_exit", "red_touched"},
		Summaries: []*pb.GenerationSummary{
			{
				Generation: 0, Digest: strings.Repeat("0a", 32), HorizonCounts: make([]uint32, genome.MaxHorizon),
				EvaluationsPerSecond: 1234.5,
				Classes: []*pb.ClassCounts{
					{Condition: "blue-doors", ProxyHits: make([]float64, 5), MeanFeatures: []float64{0, 0}},
					{Condition: "red-objects", ProxyHits: make([]float64, 5), MeanFeatures: []float64{0, 0}},
				},
				Lineage: &pb.GenerationStats{Generation: 0, Extant: 10, Roots: 10, Births: 10, Retained: 10, RetainedBytes: 4096, StoredBytes: 900},
			},
			{
				Generation: 1, BestFitness: math.Nextafter(0.3, 1), MeanFitness: 1.0 / 3, MeanTrainBase: 0.875, MeanShiftedBase: 1e-9,
				PlannerShare: 0.6, Flagged: 2, Evaluations: 480, Digest: strings.Repeat("b1", 32), BestIndividual: 17,
				Quarantined: 1, HorizonCounts: horizons, MedianHorizon: 2.5, MedianNodeBudget: 64,
				Classes: []*pb.ClassCounts{
					{Condition: "red-objects", RobustlyAligned: 3, PseudoAligned: 4, CapabilityFailure: 2, Misaligned: 1, Individuals: 10,
						Mixed: 2, PseudoAlignedHeuristics: 1, ProxyHits: []float64{0, 0.25, 2.0 / 3, 1, 0}, FlaggedPseudoAligned: 2,
						FlaggedDriftOnly: 1, MeanFeatures: []float64{0.7, 0.45}},
					{Condition: "blue-doors", RobustlyAligned: 9, Misaligned: 1, Individuals: 10, ProxyHits: []float64{0, 0.5, 0, 0, 3},
						MeanFeatures: []float64{0.9, 0.1}},
					{Condition: "coin-moved", CapabilityFailure: 10, Individuals: 10},
				},
				Lineage: &pb.GenerationStats{Generation: 1, Extant: 10, Coalesced: true, MrcaId: 3, MrcaDepth: 1, Roots: 1,
					PhylogeneticDiversity: 11, MeanPairwiseDistance: 1.7777777777777777, PlannerShare: 0.6, FlaggedShare: 0.2,
					Births: 20, Retained: 14, RetainedBytes: 7000, StoredBytes: 1500},
			},
			{
				Generation: 2, BestFitness: 0.5, Digest: strings.Repeat("c2", 32),
				Classes: []*pb.ClassCounts{{Condition: "blue-doors", RobustlyAligned: 10, Individuals: 10}},
			},
		},
	}
}

func statsCSV(t *testing.T, run *pb.Run, from uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	out := render.NewStatsCSV(&b, run.GetFeatureNames(), render.StatsConditions(run))
	if err := out.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	if err := writeStatsRows(out, run.GetSummaries(), from); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestStatsCSVGolden compares mesactl stats -o csv of a hand-made run with
// testdata/stats.csv; go test -run TestStatsCSVGolden -update rewrites it.
func TestStatsCSVGolden(t *testing.T) {
	got := statsCSV(t, statsRun(), 0)
	path := filepath.Join("testdata", "stats.csv")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("stats CSV differs from %s (rerun with -update and review the diff):\n%s", path, got)
	}
}

// TestStatsCSVParsesBack reads the CSV as a researcher's loader would: one
// header, one row per generation of the same width, every recorded value
// present and read back to the same bits, empty cells only where the
// record holds nothing.
func TestStatsCSVParsesBack(t *testing.T) {
	run := statsRun()
	rows, err := csv.NewReader(bytes.NewReader(statsCSV(t, run, 0))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(run.GetSummaries()) {
		t.Fatalf("%d rows, want a header and %d generations", len(rows), len(run.GetSummaries()))
	}
	header := rows[0]
	col := func(name string) int {
		t.Helper()
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %q in %v", name, header)
		}
		return i
	}
	if slices.Contains(header, "evaluations_per_second") {
		t.Error("evaluations_per_second (wall-clock) is a column")
	}
	// 13 summary scalars, 16 horizons, 3 conditions × (7 counts + 4 proxy
	// hits + 2 flags + 2 features), 14 lineage scalars.
	if want := 13 + genome.MaxHorizon + 3*15 + 14; len(header) != want {
		t.Errorf("%d columns, want %d", len(header), want)
	}
	for i, r := range rows[1:] {
		if len(r) != len(header) {
			t.Fatalf("row %d has %d cells, header %d", i, len(r), len(header))
		}
	}
	g0, g1, g2 := rows[1], rows[2], rows[3]
	for _, name := range []string{"generation", "flagged", "best_fitness", "horizon_1", "blue-doors.pseudo_aligned", "red-objects.mean_red_touched",
		"lineage.generation", "lineage.mrca_depth", "lineage.mean_pairwise_distance"} {
		if v := g0[col(name)]; v != "0" {
			t.Errorf("generation 0 %s = %q, want 0", name, v)
		}
	}
	if v := g0[col("lineage.coalesced")]; v != "false" {
		t.Errorf("lineage.coalesced = %q, want false", v)
	}
	s1, l1 := run.GetSummaries()[1], run.GetSummaries()[1].GetLineage()
	for name, want := range map[string]float64{
		"best_fitness": s1.GetBestFitness(), "mean_fitness": s1.GetMeanFitness(), "mean_shifted_base": s1.GetMeanShiftedBase(),
		"red-objects.proxy_hits_pseudo_aligned": 2.0 / 3, "red-objects.proxy_hits_capability_failure": 1, "red-objects.mean_at_exit": 0.7,
		"lineage.mean_pairwise_distance": l1.GetMeanPairwiseDistance(), "horizon_16": 2, "best_individual": 17,
		"red-objects.flagged_drift_only": 1, "coin-moved.capability_failure": 10,
	} {
		v, err := strconv.ParseFloat(g1[col(name)], 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(want) {
			t.Errorf("generation 1 %s = %q, want %v exactly", name, g1[col(name)], want)
		}
	}
	if g1[col("digest")] != s1.GetDigest() {
		t.Errorf("digest %q", g1[col("digest")])
	}
	// Generation 2 has no horizon counts, mean features, red-objects or
	// lineage metrics: empty cells, and zeros where it holds a zero.
	for _, name := range []string{"horizon_1", "blue-doors.mean_at_exit", "red-objects.individuals", "lineage.generation", "coin-moved.mixed"} {
		if v := g2[col(name)]; v != "" {
			t.Errorf("generation 2 %s = %q, want an empty cell", name, v)
		}
	}
	if v := g2[col("blue-doors.misaligned")]; v != "0" {
		t.Errorf("generation 2 blue-doors.misaligned = %q, want 0", v)
	}
	if rows, _ := csv.NewReader(bytes.NewReader(statsCSV(t, run, 2))).ReadAll(); len(rows) != 2 || rows[1][0] != "2" {
		t.Errorf("--from 2: %v", rows)
	}
}

// TestJSONEmitsZeros: -o json writes every field, so generation 0 and a
// zero MRCA depth are present, with proto names and enum strings.
func TestJSONEmitsZeros(t *testing.T) {
	var b bytes.Buffer
	c := &client{}
	if err := c.json(&b, &pb.GetGenerationStatsResponse{Stats: []*pb.GenerationStats{{Generation: 0, Extant: 10}}}); err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Stats []map[string]any `json:"stats"`
	}
	if err := json.Unmarshal(b.Bytes(), &stats); err != nil || len(stats.Stats) != 1 {
		t.Fatalf("%v: %s", err, b.String())
	}
	for k, want := range map[string]any{"generation": 0.0, "mrca_depth": 0.0, "coalesced": false, "extant": 10.0, "mrca_id": "0"} {
		if v, ok := stats.Stats[0][k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v, in\n%s", k, v, ok, want, b.String())
		}
	}
	b.Reset()
	if err := jsonLine(&b, &pb.Run{State: pb.RunState_RUN_STATE_SUCCEEDED, FinalDigest: "ab"}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("jsonLine wrote more than one line: %q", b.String())
	}
	var run map[string]any
	if err := json.Unmarshal(b.Bytes(), &run); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"final_digest": "ab", "state": "RUN_STATE_SUCCEEDED", "generations_done": 0.0, "error": ""} {
		if v, ok := run[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v, in %s", k, v, ok, want, b.String())
		}
	}
	if v, ok := run["summaries"].([]any); !ok || len(v) != 0 {
		t.Errorf("summaries = %v, want []", run["summaries"])
	}
}

package coordinator_test

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// countingEvaluator counts the tasks it evaluates with analysis conditions.
type countingEvaluator struct {
	next coordinator.Evaluator

	mu       sync.Mutex
	analysed int
}

func (c *countingEvaluator) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	for _, cd := range req.GetConditions() {
		if cd.GetAnalysis() {
			c.mu.Lock()
			c.analysed += len(req.GetTasks())
			c.mu.Unlock()
			break
		}
	}
	return c.next.Evaluate(ctx, req)
}

// TestAnalysisCacheServesElitesUnchanged evolves the default experiment
// with and without the cache: the records are equal in every generation,
// and from generation 1 on exactly the elites (whose genomes were analysed
// the generation before) skip their analysis.
func TestAnalysisCacheServesElitesUnchanged(t *testing.T) {
	spec := experiment.Default()
	spec.Population = 16
	spec.Elites = 3
	spec.AnalysisEpisodes = 4
	engine := worker.NewEngine(2)
	inner := &countingEvaluator{next: engine}
	cache := coordinator.NewAnalysisCache(inner)
	opt := ga.New(spec, fitness.Shape())
	members, births, next := opt.Initial()
	ctx := context.Background()
	for gen := uint32(0); gen < 4; gen++ {
		plain := append([]ga.Member(nil), members...)
		want, err := coordinator.Evaluate(ctx, engine, "c", spec, gen, plain, births)
		if err != nil {
			t.Fatal(err)
		}
		before := inner.analysed
		got, err := coordinator.Evaluate(ctx, cache, "c", spec, gen, members, births)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(members, plain) {
			t.Fatalf("generation %d: records or fitness differ with the cache", gen)
		}
		analysed := inner.analysed - before
		wantAnalysed := spec.Population
		if gen > 0 {
			wantAnalysed -= spec.Elites
		}
		if analysed != wantAnalysed {
			t.Errorf("generation %d: %d genomes analysed, want %d (the elites from the cache)", gen, analysed, wantAnalysed)
		}
		// Two generations of analysis results at most: train, shifted, identity.
		if n, limit := cache.Len(), 2*spec.Population*(len(spec.Conditions())+1); n > limit {
			t.Errorf("generation %d: %d cached results, want at most %d", gen, n, limit)
		}
		members, births, next = opt.Next(members, gen+1, next)
	}
	if hits, misses := cache.Stats(); hits != 3*spec.Elites || misses != 4*spec.Population-3*spec.Elites {
		t.Errorf("stats: %d hits, %d misses", hits, misses)
	}
}

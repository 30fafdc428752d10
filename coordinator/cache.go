package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// AnalysisCache is an Evaluator in front of another that remembers the
// results of analysis conditions, so that a genome analysed in one
// generation is not played again in the next: an elite copy carries its
// parent's genome, and the analysis instances are the same in every
// generation (fitness.AnalysisSeed), so its analysis is the parent's. A
// task is served from the cache only when every analysis condition of its
// request is cached; it is then sent on with the selection conditions
// alone. The key of a result is a SHA-256 over the environment, the
// condition, its instance seeds, the protocol version and the genome, all
// in deterministic protobuf encoding: everything a worker's result is a
// pure function of. So a cached result equals, bit for bit, the one the
// worker would send, and caching changes no digest.
//
// Memory is bounded by two generations of results: an entry not used in
// the current or the previous generation (by request generation) is
// dropped when a later generation's first request arrives. Safe for
// concurrent use.
type AnalysisCache struct {
	next Evaluator

	mu      sync.Mutex
	gen     uint32
	entries map[[sha256.Size]byte]cacheEntry // lookup and age-based deletion only; never ranged where order matters
	hits    int
	misses  int
}

type cacheEntry struct {
	res  *pb.ConditionResult // shared read-only with the responses that carry it
	used uint32              // the last generation that stored or read it
}

// NewAnalysisCache returns an empty cache in front of next.
func NewAnalysisCache(next Evaluator) *AnalysisCache {
	return &AnalysisCache{next: next, entries: map[[sha256.Size]byte]cacheEntry{}}
}

// Stats returns how many tasks were served from the cache (their analysis
// conditions not evaluated) and how many were evaluated in full.
func (c *AnalysisCache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Workers reports the capacity of the Evaluator behind the cache (see
// AutoBatchSize): its Workers if it has that method, else 1 worker of
// capacity 1.
func (c *AnalysisCache) Workers() (n, capacity int) {
	if w, ok := c.next.(interface{ Workers() (n, capacity int) }); ok {
		return w.Workers()
	}
	return 1, 1
}

// Window forwards the wrapped Evaluator's in-flight window (see
// dispatch.Dispatcher.Window), 0 when it reports none.
func (c *AnalysisCache) Window() int { return windowOf(c.next) }

// Len returns the number of cached condition results.
func (c *AnalysisCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Evaluate answers req as next would, evaluating only what the cache does
// not hold. Errors are next's.
func (c *AnalysisCache) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	conds := req.GetConditions()
	var analysis, selection []int // indexes into conds
	for j, cd := range conds {
		if cd.GetAnalysis() {
			analysis = append(analysis, j)
		} else {
			selection = append(selection, j)
		}
	}
	if len(analysis) == 0 {
		return c.next.Evaluate(ctx, req)
	}
	condKeys := make([][]byte, len(conds))
	env := deterministic(req.GetEnvironment())
	for _, j := range analysis {
		h := sha256.New()
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], uint64(req.GetProtocolVersion()))
		h.Write(buf[:])
		writeField(h, env)
		writeField(h, []byte(conds[j].GetCondition()))
		for _, s := range conds[j].GetInstanceSeeds() {
			binary.LittleEndian.PutUint64(buf[:], s)
			h.Write(buf[:])
		}
		condKeys[j] = h.Sum(nil)
	}
	tasks := req.GetTasks()
	keys := make([][][sha256.Size]byte, len(tasks)) // per task, per analysis condition
	cached := make([][]*pb.ConditionResult, len(tasks))
	var full, partial []*pb.EvaluationTask
	var fullAt, partialAt []int
	c.mu.Lock()
	if g := req.GetGeneration(); g > c.gen {
		c.gen = g
		for k, e := range c.entries {
			if e.used+1 < g {
				delete(c.entries, k)
			}
		}
	}
	for i, t := range tasks {
		gb := deterministic(t.GetGenome())
		keys[i] = make([][sha256.Size]byte, len(analysis))
		hit := make([]*pb.ConditionResult, len(analysis))
		all := true
		for a, j := range analysis {
			h := sha256.New()
			writeField(h, condKeys[j])
			writeField(h, gb)
			copy(keys[i][a][:], h.Sum(nil))
			if e, ok := c.entries[keys[i][a]]; ok {
				hit[a] = e.res
			} else {
				all = false
			}
		}
		if all {
			for a := range analysis {
				e := c.entries[keys[i][a]]
				e.used = max(e.used, req.GetGeneration())
				c.entries[keys[i][a]] = e
			}
			cached[i] = hit
			partial, partialAt = append(partial, t), append(partialAt, i)
			c.hits++
		} else {
			full, fullAt = append(full, t), append(fullAt, i)
			c.misses++
		}
	}
	c.mu.Unlock()

	results := make([]*pb.EvaluationResult, len(tasks))
	g, gctx := errgroup.WithContext(ctx)
	workers := make([]string, len(tasks)) // who evaluated each result: its selection conditions, at least
	if len(full) > 0 {
		g.Go(func() error {
			sub := dispatch.WithTasks(req, full)
			resp, err := c.next.Evaluate(gctx, sub)
			if err == nil {
				err = dispatch.CheckResponse(sub, resp)
			}
			if err != nil {
				return err
			}
			for k, r := range resp.GetResults() {
				results[fullAt[k]], workers[fullAt[k]] = r, dispatch.ResultWorker(resp, k)
			}
			return nil
		})
	}
	var sel []*pb.EvaluationResult
	if len(partial) > 0 && len(selection) > 0 {
		g.Go(func() error {
			sub := &pb.EvaluateRequest{ProtocolVersion: req.GetProtocolVersion(), RunId: req.GetRunId(),
				Generation: req.GetGeneration(), Environment: req.GetEnvironment(), Tasks: partial}
			for _, j := range selection {
				sub.Conditions = append(sub.Conditions, conds[j])
			}
			resp, err := c.next.Evaluate(gctx, sub)
			if err == nil {
				err = dispatch.CheckResponse(sub, resp)
			}
			if err != nil {
				return err
			}
			sel = resp.GetResults()
			for k, i := range partialAt {
				workers[i] = dispatch.ResultWorker(resp, k)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for k, i := range partialAt {
		out := &pb.EvaluationResult{IndividualId: tasks[i].GetIndividualId()}
		s, a := 0, 0
		for _, cd := range conds {
			if cd.GetAnalysis() {
				out.Conditions = append(out.Conditions, cached[i][a])
				a++
			} else {
				out.Conditions = append(out.Conditions, sel[k].GetConditions()[s])
				s++
			}
		}
		results[i] = out
	}
	c.mu.Lock()
	for _, i := range fullAt {
		for a, j := range analysis {
			c.entries[keys[i][a]] = cacheEntry{res: results[i].GetConditions()[j], used: req.GetGeneration()}
		}
	}
	c.mu.Unlock()
	resp := &pb.EvaluateResponse{Results: results}
	if len(workers) > 0 && !slices.ContainsFunc(workers, func(w string) bool { return w != workers[0] }) {
		resp.Worker = workers[0]
	} else {
		resp.ResultWorkers = workers
	}
	return resp, nil
}

// writeField writes b with its length, so that concatenated fields cannot
// collide.
func writeField(h interface{ Write([]byte) (int, error) }, b []byte) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(len(b)))
	h.Write(buf[:])
	h.Write(b)
}

package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/behavior"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Engine evaluates Evaluate requests with the fitness package. It keeps one
// fitness.Evaluator per environment configuration (their oracle caches are
// worth keeping between batches). Safe for concurrent use.
type Engine struct {
	sem chan struct{} // one token per genome under evaluation, shared by all requests

	mu         sync.Mutex
	evaluators map[string]*fitness.Evaluator // keyed by fitness.Config.Key; lookup only
}

// NewEngine returns an engine that evaluates up to parallelism genomes at
// once (≥ 1), across all concurrent requests.
func NewEngine(parallelism int) *Engine {
	return &Engine{sem: make(chan struct{}, max(1, parallelism)), evaluators: map[string]*fitness.Evaluator{}}
}

// Workers reports the engine as one worker whose capacity is its
// parallelism, as the Dispatcher reports its workers.
func (e *Engine) Workers() (n, capacity int) { return 1, cap(e.sem) }

// acquire takes an evaluation token, or returns false (holding none) once
// ctx has ended.
func (e *Engine) acquire(ctx context.Context) bool {
	select {
	case e.sem <- struct{}{}:
		if ctx.Err() != nil {
			<-e.sem
			return false
		}
		return true
	case <-ctx.Done():
		return false
	}
}

// EnvironmentConfig maps the wire configuration to the fitness package's:
// the named environment's defaults, overridden by the wire's sizes and
// feature family, and the map files parsed from their content. Errors name
// the field, the value and what is allowed (unknown environments list the
// valid ones; a malformed map gives its file, line and column).
func EnvironmentConfig(e *pb.EnvironmentConfig) (fitness.Config, error) {
	cfg, err := fitness.DefaultConfigFor(e.GetName())
	if err != nil || e.GetName() == "" {
		return fitness.Config{}, fmt.Errorf("environment.name = %q, allowed one of %v", e.GetName(), fitness.EnvNames())
	}
	cfg.Width = int(e.GetWidth())
	cfg.Height = int(e.GetHeight())
	cfg.Walls = int(e.GetWalls())
	cfg.RedObjects = int(e.GetRedObjects())
	cfg.Keys = int(e.GetKeys())
	cfg.StepLimit = int(e.GetStepLimit())
	cfg.Features = fitness.FeatureFamily(e.GetFeatures()) // "" (an older coordinator) is the default
	for i, m := range e.GetMaps() {
		parsed, err := fitness.ParseMap(m.GetFile(), []byte(m.GetText()))
		if err != nil {
			return fitness.Config{}, fmt.Errorf("environment.maps[%d] (%s): %w", i, m.GetCondition(), err)
		}
		cfg.Maps = append(cfg.Maps, fitness.ConditionMap{Condition: m.GetCondition(), Map: parsed})
	}
	return cfg, cfg.Validate()
}

func (e *Engine) evaluator(env *pb.EnvironmentConfig) (*fitness.Evaluator, error) {
	cfg, err := EnvironmentConfig(env)
	if err != nil {
		return nil, err
	}
	key := cfg.Key()
	e.mu.Lock()
	defer e.mu.Unlock()
	if fe, ok := e.evaluators[key]; ok {
		return fe, nil
	}
	fe, err := fitness.NewEvaluator(cfg)
	if err != nil {
		return nil, err
	}
	e.evaluators[key] = fe
	return fe, nil
}

// Evaluate scores every task of req under every condition and returns the
// results in task order, conditions in request order. Errors are gRPC
// status errors: FailedPrecondition for another protocol version,
// InvalidArgument for a bad environment, condition or genome (naming the
// individual), and the context's error when ctx ends first.
func (e *Engine) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	if v := req.GetProtocolVersion(); v != ProtocolVersion {
		return nil, status.Errorf(codes.FailedPrecondition,
			"protocol version %d, this worker speaks %d: upgrade the older side", v, ProtocolVersion)
	}
	fe, err := e.evaluator(req.GetEnvironment())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "environment: %v", err)
	}
	conds := fe.Conditions()
	for i, c := range req.GetConditions() {
		if !slices.Contains(conds, c.GetCondition()) {
			return nil, status.Errorf(codes.InvalidArgument, "conditions[%d].condition = %q, allowed %v", i, c.GetCondition(), conds)
		}
		if len(c.GetInstanceSeeds()) == 0 {
			return nil, status.Errorf(codes.InvalidArgument, "conditions[%d].instance_seeds is empty, allowed at least one", i)
		}
	}
	tasks := req.GetTasks()
	genomes := make([]genome.Genome, len(tasks))
	for i, t := range tasks {
		g, err := genome.FromProto(t.GetGenome(), fe.Shape())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "tasks[%d] (individual %d): %v", i, t.GetIndividualId(), err)
		}
		genomes[i] = g
	}
	results := make([]*pb.EvaluationResult, len(tasks))
	g, gctx := errgroup.WithContext(ctx)
	for i := range tasks {
		if !e.acquire(gctx) {
			break
		}
		g.Go(func() error {
			start := time.Now()
			defer func() {
				AddEvalTime(gctx, time.Since(start))
				<-e.sem
			}()
			res := &pb.EvaluationResult{IndividualId: tasks[i].GetIndividualId()}
			for _, c := range req.GetConditions() {
				if err := gctx.Err(); err != nil {
					return err
				}
				var out *pb.ConditionResult
				if c.GetAnalysis() {
					cr, fit, err := fe.EvaluateWithFit(genomes[i], c.GetCondition(), c.GetInstanceSeeds(), behavior.DefaultConfig())
					if err != nil {
						return status.Errorf(codes.InvalidArgument, "individual %d, condition %s: %v", tasks[i].GetIndividualId(), c.GetCondition(), err)
					}
					out = ConditionResultToProto(cr)
					out.BehavioralWeights = fit.Weights
					out.BehavioralFit = fit.PseudoR2
					out.BehavioralAccuracy = fit.Accuracy
				} else {
					cr, err := fe.EvaluateSelection(genomes[i], c.GetCondition(), c.GetInstanceSeeds())
					if err != nil {
						return status.Errorf(codes.InvalidArgument, "individual %d, condition %s: %v", tasks[i].GetIndividualId(), c.GetCondition(), err)
					}
					out = ConditionResultToProto(cr)
				}
				res.Conditions = append(res.Conditions, out)
			}
			results[i] = res
			return nil
		})
	}
	err = g.Wait()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, status.FromContextError(err).Err()
		}
		return nil, err
	}
	return &pb.EvaluateResponse{Results: results}, nil
}

// ConditionResultToProto encodes one condition's aggregate.
func ConditionResultToProto(r fitness.ConditionResult) *pb.ConditionResult {
	return &pb.ConditionResult{
		Condition:           r.Condition,
		Episodes:            uint32(r.Episodes),
		Base:                r.Base,
		Competence:          r.Competence,
		Agreement:           r.Agreement,
		ProxyHits:           r.ProxyHits,
		Steps:               r.Steps,
		Nodes:               r.Nodes,
		Features:            append([]float64(nil), r.Features...),
		BehavioralObjective: r.BehavioralObjective,
		Terminated:          uint32(r.Terminated),
		Truncated:           uint32(r.Truncated),
		BehavioralMargin:    r.BehavioralMargin,
		Varied:              slices.Clone(r.Varied),
		EpisodeScores:       episodeScoresToProto(r.EpisodeScores),
	}
}

func episodeScoresToProto(es []fitness.EpisodeScore) []*pb.EpisodeScore {
	out := make([]*pb.EpisodeScore, len(es))
	for i, e := range es {
		out[i] = &pb.EpisodeScore{Base: e.Base, Competence: e.Competence, GoalBase: e.GoalBase, Agreement: e.Agreement,
			ProxyHits: e.ProxyHits, BehavioralCompetence: e.BehavioralCompetence, BehavioralGoalBase: e.BehavioralGoalBase}
	}
	return out
}

package dispatch

import (
	"fmt"
	"math"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/fitness"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// CheckResponse verifies an evaluator's answer to req before any of it is
// used: a result for every task, in order, with the task's individual id;
// under every requested condition, in order, by name; each condition with
// as many episodes as it had instance seeds (and, for analysis conditions,
// one episode score per seed); every number finite and in its documented
// range (base, competence, goal base, accuracy, margin 0..1; agreement
// −1..1; nodes, steps, proxy hits ≥ 0; terminated + truncated ≤ episodes);
// feature vectors, behavioral weights and varied flags empty or as long as
// the environment's feature list (analysis features always that long).
//
// A failed check is the worker's fault, never a score: the error has code
// DataLoss and names the worker, the individual, the condition and the
// field, so the Dispatcher rests that worker and retries the batch on
// another.
func CheckResponse(req *pb.EvaluateRequest, resp *pb.EvaluateResponse) error {
	tasks := req.GetTasks()
	conds := req.GetConditions()
	if len(resp.GetResults()) != len(tasks) {
		return status.Errorf(codes.DataLoss, "worker %s answered %d results for %d tasks", resp.GetWorker(), len(resp.GetResults()), len(tasks))
	}
	features := -1 // unknown environment: lengths only checked for consistency
	if env, err := fitness.LookupEnv(req.GetEnvironment().GetName()); err == nil {
		features = len(env.Features())
	}
	for i, r := range resp.GetResults() {
		if r.GetIndividualId() != tasks[i].GetIndividualId() || len(r.GetConditions()) != len(conds) {
			return status.Errorf(codes.DataLoss, "worker %s answered result %d for individual %d with %d conditions, want individual %d with %d",
				ResultWorker(resp, i), i, r.GetIndividualId(), len(r.GetConditions()), tasks[i].GetIndividualId(), len(conds))
		}
		for j, c := range r.GetConditions() {
			if err := checkCondition(conds[j], c, features); err != nil {
				return status.Errorf(codes.DataLoss, "worker %s: individual %d, condition %s: %v", ResultWorker(resp, i), r.GetIndividualId(), conds[j].GetCondition(), err)
			}
		}
	}
	return nil
}

// checkCondition checks one condition's result against what was asked;
// features < 0: the environment's feature count is unknown.
func checkCondition(asked *pb.ConditionEpisodes, c *pb.ConditionResult, features int) error {
	if c == nil {
		return fmt.Errorf("no result")
	}
	if c.GetCondition() != asked.GetCondition() {
		return fmt.Errorf("condition = %q, want %q", c.GetCondition(), asked.GetCondition())
	}
	n := len(asked.GetInstanceSeeds())
	if int(c.GetEpisodes()) != n {
		return fmt.Errorf("episodes = %d, want %d (the seeds asked)", c.GetEpisodes(), n)
	}
	if uint64(c.GetTerminated())+uint64(c.GetTruncated()) > uint64(n) {
		return fmt.Errorf("terminated %d + truncated %d > %d episodes", c.GetTerminated(), c.GetTruncated(), n)
	}
	for _, f := range []struct {
		name   string
		v      float64
		lo, hi float64
	}{
		{"base", c.GetBase(), 0, 1},
		{"competence", c.GetCompetence(), 0, 1},
		{"agreement", c.GetAgreement(), -1, 1},
		{"proxy_hits", c.GetProxyHits(), 0, math.Inf(1)},
		{"steps", c.GetSteps(), 0, math.Inf(1)},
		{"nodes", c.GetNodes(), 0, math.Inf(1)},
		{"behavioral_fit", c.GetBehavioralFit(), math.Inf(-1), math.Inf(1)},
		{"behavioral_accuracy", c.GetBehavioralAccuracy(), 0, 1},
		{"behavioral_margin", c.GetBehavioralMargin(), 0, 1},
	} {
		if err := inRange(f.name, f.v, f.lo, f.hi); err != nil {
			return err
		}
	}
	if err := vector("features", c.GetFeatures(), features, asked.GetAnalysis()); err != nil {
		return err
	}
	if err := vector("behavioral_weights", c.GetBehavioralWeights(), features, false); err != nil {
		return err
	}
	if v := len(c.GetVaried()); v != 0 && features >= 0 && v != features {
		return fmt.Errorf("varied has %d entries, want 0 or %d (features)", v, features)
	}
	es := c.GetEpisodeScores()
	if asked.GetAnalysis() && len(es) != n {
		return fmt.Errorf("episode_scores has %d entries, want %d (the seeds asked)", len(es), n)
	}
	if !asked.GetAnalysis() && len(es) != 0 && len(es) != n {
		return fmt.Errorf("episode_scores has %d entries, want 0 or %d (the seeds asked)", len(es), n)
	}
	for e, s := range es {
		for _, f := range []struct {
			name   string
			v      float64
			lo, hi float64
		}{
			{"base", s.GetBase(), 0, 1},
			{"competence", s.GetCompetence(), 0, 1},
			{"goal_base", s.GetGoalBase(), 0, 1},
			{"agreement", s.GetAgreement(), -1, 1},
			{"proxy_hits", s.GetProxyHits(), 0, math.Inf(1)},
			{"behavioral_competence", s.GetBehavioralCompetence(), 0, 1},
			{"behavioral_goal_base", s.GetBehavioralGoalBase(), 0, 1},
		} {
			if err := inRange(fmt.Sprintf("episode_scores[%d].%s", e, f.name), f.v, f.lo, f.hi); err != nil {
				return err
			}
		}
	}
	return nil
}

// inRange checks that v is a finite number in [lo, hi].
func inRange(name string, v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return fmt.Errorf("%s = %v, allowed a finite number in [%v, %v]", name, v, lo, hi)
	}
	return nil
}

// vector checks a per-feature vector: finite, and empty or features long
// (exactly features long when required); features < 0: any length.
func vector(name string, xs []float64, features int, required bool) error {
	if features >= 0 && (len(xs) != 0 || required) && len(xs) != features {
		return fmt.Errorf("%s has %d entries, want %d (features)", name, len(xs), features)
	}
	for k, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] = %v, allowed a finite number", name, k, x)
		}
	}
	return nil
}

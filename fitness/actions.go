package fitness

import (
	"fmt"
	"math"
)

// ActionLetters are the letters of ParseActions, indexed by Action:
// u(p), d(own), l(eft), r(ight), as in the AI Safety Gridworlds tests.
const ActionLetters = "udlr"

// ParseActions reads an action string such as "drrrrrru", one letter per
// action (see ActionLetters; upper case is accepted). Errors wrap
// ErrActions and name the offending letter and its 1-based position.
func ParseActions(s string) ([]Action, error) {
	out := make([]Action, 0, len(s))
	for i, r := range s {
		switch r {
		case 'u', 'U':
			out = append(out, Up)
		case 'd', 'D':
			out = append(out, Down)
		case 'l', 'L':
			out = append(out, Left)
		case 'r', 'R':
			out = append(out, Right)
		default:
			return nil, fmt.Errorf("%w: letter %q at position %d of %q, allowed u, d, l, r", ErrActions, r, i+1, s)
		}
	}
	return out, nil
}

// StepResult is one transition of Replay.
type StepResult struct {
	Action     Action
	State      State   // the state after the action
	Reward     float64 // the transition's reward
	Return     float64 // the sum of rewards so far
	Terminated bool    // State is terminal
	Truncated  bool    // State reached the step limit without being terminal
}

// Replay plays actions from the start state and returns one StepResult
// per action taken; it stops early when the episode terminates or is
// truncated (later actions are not taken).
func (in *Instance) Replay(actions []Action) []StepResult {
	var out []StepResult
	s, ret := in.Start(), 0.0
	for _, a := range actions {
		n, r, term := in.Transition(s, a)
		ret += r
		res := StepResult{Action: a, State: n, Reward: r, Return: ret, Terminated: term,
			Truncated: !term && int(n.Steps) >= in.cfg.StepLimit}
		out = append(out, res)
		s = n
		if res.Terminated || res.Truncated {
			break
		}
	}
	return out
}

// FullTree returns the number of nodes of a full search tree of depth
// horizon over the NumActions actions, NumActions + NumActions² + … +
// NumActions^horizon (0 for horizon ≤ 0), saturating at math.MaxInt32: a
// node budget with which a planner's search is limited by its horizon
// alone, since the distinct states it evaluates are at most the tree's
// nodes.
func FullTree(horizon int) int {
	n, level := 0, 1
	for range horizon {
		level *= NumActions
		n += level
		if n >= math.MaxInt32 {
			return math.MaxInt32
		}
	}
	return n
}

package fitness

// OptimalActions returns an action sequence that achieves OptimumReturn:
// the shortest path, over the abstract state (position, touched objects),
// to the state of highest return (ties to the first in BFS order, actions
// tried in index order). When that state is not terminal the optimum is
// reached by wasting the remaining steps, which the sequence leaves out.
// It is exact under the same conditions as OptimumReturn.
func (in *Instance) OptimalActions() []Action {
	type node struct {
		s      State
		parent int32
		a      Action
	}
	limit := int32(in.cfg.StepLimit)
	seen := map[uint64]struct{}{stateKey(in.Start()): {}}
	nodes := []node{{s: in.Start(), parent: -1}}
	best, bestR := 0, in.stateReturn(in.Start())
	for i := 0; i < len(nodes) && len(nodes) < in.cfg.OracleStates; i++ {
		s := nodes[i].s
		if r := in.stateReturn(s); r > bestR {
			best, bestR = i, r
		}
		if in.Terminal(s) || s.Steps >= limit {
			continue
		}
		for a := Action(0); a < NumActions; a++ {
			n := in.Step(s, a)
			if _, ok := seen[stateKey(n)]; ok {
				continue
			}
			seen[stateKey(n)] = struct{}{}
			nodes = append(nodes, node{s: n, parent: int32(i), a: a})
		}
	}
	for i := best + 1; i < len(nodes); i++ { // states appended after the loop ended
		if r := in.stateReturn(nodes[i].s); r > bestR {
			best, bestR = i, r
		}
	}
	var path []Action
	for i := best; nodes[i].parent >= 0; i = int(nodes[i].parent) {
		path = append(path, nodes[i].a)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

package fitness

// BaseObjective returns the base objective — reach the exit in as few
// steps as possible — written as weights over the feature basis, in
// FeatureNames order, so that reports can show a mesa-objective next to it.
// It is the "exit" candidate of Candidates. Scoring itself uses the
// normalised base score of an episode, not these weights.
func BaseObjective() []float64 {
	for _, c := range Candidates() {
		if c.Name == "exit" {
			return c.Weights
		}
	}
	return make([]float64, NumFeatures)
}

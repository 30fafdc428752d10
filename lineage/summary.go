package lineage

import "github.com/mesaopt/mesaopt/genome"

// Counts holds a number of records (or episodes) per Class, indexed by
// Class: Counts[ClassPseudoAligned] is the number of pseudo-aligned ones.
type Counts [NumClasses]int

// ConditionCounts are the class counts under one shifted condition.
type ConditionCounts struct {
	// Condition names the shifted condition.
	Condition string
	// All counts every record evaluated under the condition.
	All Counts
	// Planners counts only the planner records among them.
	Planners Counts
}

// Summary describes a set of records, typically one generation.
type Summary struct {
	// Records is the number of records summarised.
	Records int
	// Planners is the number of them that are planner policies.
	Planners int
	// PlannerShare is Planners / Records, in [0,1]; 0 when Records is 0.
	PlannerShare float64
	// Analyzed is the number of records evaluated under at least one
	// shifted condition.
	Analyzed int
	// Flagged is the number of flagged records.
	Flagged int
	// Conditions holds the class counts under each shifted condition, in
	// the order the conditions first appear in the records' Shifted lists:
	// the experiment's condition order when the records come from one run.
	Conditions []ConditionCounts
}

// Summarize counts the records of rs by kind, flag and, under each shifted
// condition, class. The result depends only on rs and its order. rs should
// have been through Analyze; Summarize does not classify.
func Summarize(rs []Record) Summary {
	var sum Summary
	index := map[string]int{} // condition name → position in sum.Conditions
	for _, r := range rs {
		sum.Records++
		planner := r.Kind == genome.KindPlanner
		if planner {
			sum.Planners++
		}
		if r.Analyzed() {
			sum.Analyzed++
		}
		if r.Flagged {
			sum.Flagged++
		}
		for _, sc := range r.Shifted {
			i, ok := index[sc.Condition]
			if !ok {
				i = len(sum.Conditions)
				index[sc.Condition] = i
				sum.Conditions = append(sum.Conditions, ConditionCounts{Condition: sc.Condition})
			}
			c := &sum.Conditions[i]
			k := classIndex(sc.Class)
			c.All[k]++
			if planner {
				c.Planners[k]++
			}
		}
	}
	if sum.Records > 0 {
		sum.PlannerShare = float64(sum.Planners) / float64(sum.Records)
	}
	return sum
}

// classIndex maps an undefined Class value to ClassUnknown, so that it is
// counted rather than indexing out of range.
func classIndex(c Class) Class {
	if int(c) >= NumClasses {
		return ClassUnknown
	}
	return c
}

package lineage

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mesaopt/mesaopt/genome"
)

// Snapshot is an immutable view of a Store's records at one moment. It
// shares the records with the Store (which never modifies a stored record),
// so taking one costs one pointer per record and no copy of the records;
// the Store may go on adding and pruning while a Snapshot is read. A
// Snapshot is safe for concurrent reads.
type Snapshot struct {
	recs []*Record // ascending ID
}

// Snapshot returns the current records as a Snapshot. O(Len) time, 8 bytes
// per record.
func (s *Store) Snapshot() Snapshot {
	recs := make([]*Record, len(s.ids))
	for i, id := range s.ids {
		recs[i] = s.byID[id]
	}
	return Snapshot{recs: recs}
}

// Len returns the number of records in the snapshot.
func (sn Snapshot) Len() int { return len(sn.recs) }

// Export formats.
const (
	// FormatALife is the ALife data standard phylogeny CSV.
	FormatALife = "alife"
	// FormatNewick is the Newick tree format of primary-parent links.
	FormatNewick = "newick"
	// FormatDOT is a Graphviz digraph.
	FormatDOT = "dot"
)

// Write writes the snapshot in format (FormatALife, FormatNewick or
// FormatDOT; ErrInvalid otherwise) to w with the default options.
// conditions are the shifted condition names, for the ALife columns.
func (sn Snapshot) Write(w io.Writer, format string, conditions []string) error {
	return sn.Export(w, format, ExportOptions{Conditions: conditions})
}

// lastGeneration returns the highest generation in the snapshot (0 when
// empty): the population alive when it was taken.
func (sn Snapshot) lastGeneration() uint32 {
	var last uint32
	for _, r := range sn.recs {
		last = max(last, r.Generation)
	}
	return last
}

// ALife columns written before the per-condition ones.
var alifeColumns = []string{"id", "ancestor_list", "origin_time", "destruction_time", "kind", "fitness", "flagged", "champion",
	"operators", "objective", "horizon", "flag_reasons"}

// Per-condition ALife columns, each prefixed with "<condition>_".
var alifeScoreColumns = []string{"base", "competence", "agreement", "drift", "class", "flagged", "behavioral_objective", "behavioral_fit",
	"robustly_aligned_episodes", "pseudo_aligned_episodes", "capability_failure_episodes", "misaligned_episodes", "firm", "proxy_hits"}

// verdictClasses are the classes whose episode counts the ALife columns
// carry, in column order.
var verdictClasses = [...]Class{ClassRobustlyAligned, ClassPseudoAligned, ClassCapabilityFailure, ClassMisaligned}

// WriteALife writes the records as a phylogeny CSV of the ALife data
// standard (Lalejini et al. 2019, "Data standards for artificial life
// software", ALIFE 2019; https://alife-data-standards.github.io/alife-data-standards/phylogeny.html),
// one row per record in ascending ID order, readable by phylotrackpy and
// the ALife standard tools (ALifeStdDev):
//
//	id              the individual's ID
//	ancestor_list   "[NONE]" for generation 0, else "[p1]" or "[p1,p2]",
//	                primary parent first
//	origin_time     the generation of birth
//	destruction_time  the standard's "time that this entry went out of
//	                existence": the generation the individual was removed
//	                from the population, origin_time+1 (every individual
//	                lives one generation; an elite's copy is a new record),
//	                or "inf" for the records of the last generation in the
//	                snapshot, alive when it was taken (the standard names no
//	                value for the living, its toy example writes "none";
//	                "inf" keeps the column numeric for CSV readers)
//	kind, fitness, flagged, champion, operators (";"-joined), objective
//	(the mesa-objective, ";"-joined weights), horizon, flag_reasons ("|"-joined)
//	then, for train, each of conditions and identity: <c>_base,
//	<c>_competence, <c>_agreement, <c>_drift, <c>_class (the majority of
//	the episodes), <c>_flagged, <c>_behavioral_objective, <c>_behavioral_fit,
//	<c>_robustly_aligned_episodes, <c>_pseudo_aligned_episodes,
//	<c>_capability_failure_episodes, <c>_misaligned_episodes (the verdict's
//	class counts), <c>_firm, <c>_proxy_hits; empty when the record was not
//	evaluated under c
//
// Numbers are written in the shortest form that parses back to the same
// float64, so ReadALife restores them exactly. Memory: one row at a time
// behind a 64 KiB buffer.
func (sn Snapshot) WriteALife(w io.Writer, conditions []string) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	conds := append(append([]string{"train"}, conditions...), IdentityCondition)
	header := append([]string(nil), alifeColumns...)
	for _, c := range conds {
		for _, col := range alifeScoreColumns {
			header = append(header, c+"_"+col)
		}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	last := sn.lastGeneration()
	for _, r := range sn.recs {
		row = row[:0]
		anc := "[NONE]"
		if len(r.Parents) > 0 {
			anc = "[" + joinUints(r.Parents, ",") + "]"
		}
		destroyed := "inf"
		if r.Generation < last {
			destroyed = strconv.FormatUint(uint64(r.Generation)+1, 10)
		}
		row = append(row, strconv.FormatUint(r.ID, 10), anc, strconv.FormatUint(uint64(r.Generation), 10), destroyed,
			kindName(r.Kind), fmtFloat(r.Fitness), strconv.FormatBool(r.Flagged), strconv.FormatBool(r.Champion),
			strings.Join(r.Operators, ";"), joinFloats(r.Objective, ";"), strconv.Itoa(r.Horizon), strings.Join(r.FlagReasons, "|"))
		for ci, c := range conds {
			var sc *ConditionScore
			switch {
			case ci == 0:
				sc = &r.Train
			case c == IdentityCondition:
				if r.Identity.Condition != "" {
					sc = &r.Identity
				}
			default:
				for i := range r.Shifted {
					if r.Shifted[i].Condition == c {
						sc = &r.Shifted[i]
						break
					}
				}
			}
			if sc == nil {
				for range alifeScoreColumns {
					row = append(row, "")
				}
				continue
			}
			row = append(row, fmtFloat(sc.Base), fmtFloat(sc.Competence), fmtFloat(sc.Agreement), fmtFloat(sc.Drift),
				sc.Class.String(), strconv.FormatBool(sc.Flagged), sc.BehavioralObjective, fmtFloat(sc.BehavioralFit))
			for _, k := range verdictClasses {
				row = append(row, strconv.Itoa(sc.ClassCounts[k]))
			}
			row = append(row, strconv.FormatBool(sc.Firm), fmtFloat(sc.ProxyHits))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// ReadALife parses a phylogeny CSV written by WriteALife and calls fn with
// each record, in file order, one row at a time. Columns are found by
// name, so extra columns are ignored and only id and ancestor_list are
// required; origin_time and the others are read when present
// (destruction_time is derived, and not read). Per-condition
// columns rebuild Train and Shifted (shifted conditions in column order; a
// record with all of a condition's columns empty was not evaluated under
// it). Errors name the line and column and wrap ErrInvalid; an error from
// fn stops the reading and is returned.
func ReadALife(r io.Reader, fn func(Record) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%w: ALife CSV header: %v", ErrInvalid, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, req := range []string{"id", "ancestor_list"} {
		if _, ok := col[req]; !ok {
			return fmt.Errorf("%w: ALife CSV has no %q column", ErrInvalid, req)
		}
	}
	var conds []string // conditions with a <c>_base column, in column order
	for _, h := range header {
		if c, ok := strings.CutSuffix(h, "_base"); ok {
			conds = append(conds, c)
		}
	}
	for line := 2; ; line++ {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: ALife CSV: %v", ErrInvalid, err)
		}
		p := rowParser{row: row, col: col, line: line}
		var rec Record
		rec.ID = p.uint("id")
		rec.Parents = p.ancestors("ancestor_list")
		rec.Generation = uint32(p.uint("origin_time"))
		rec.Kind = p.kind("kind")
		rec.Fitness = p.float("fitness")
		rec.Flagged = p.bool("flagged")
		rec.Champion = p.bool("champion")
		rec.Operators = p.list("operators", ";")
		rec.Objective = p.floats("objective")
		rec.Horizon = int(p.uint("horizon"))
		rec.FlagReasons = p.list("flag_reasons", "|")
		for _, c := range conds {
			if p.get(c+"_base") == "" {
				continue
			}
			sc := ConditionScore{Condition: c, Base: p.float(c + "_base"), Competence: p.float(c + "_competence"),
				Agreement: p.float(c + "_agreement"), Drift: p.float(c + "_drift"), Flagged: p.bool(c + "_flagged"),
				BehavioralObjective: p.get(c + "_behavioral_objective"), BehavioralFit: p.float(c + "_behavioral_fit")}
			if s := p.get(c + "_class"); s != "" {
				sc.Class, err = ParseClass(s)
				if err != nil && p.err == nil {
					p.err = fmt.Errorf("%w: ALife CSV line %d, column %s_class: %q", ErrInvalid, line, c, s)
				}
			}
			for _, k := range verdictClasses {
				if v := p.get(c + "_" + strings.ReplaceAll(k.String(), "-", "_") + "_episodes"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil && p.err == nil {
						p.err = fmt.Errorf("%w: ALife CSV line %d, column %s_%s_episodes: %q", ErrInvalid, line, c, k, v)
					}
					sc.ClassCounts[k] = n
				}
			}
			if p.get(c+"_firm") != "" {
				sc.Firm = p.bool(c + "_firm")
			}
			if p.get(c+"_proxy_hits") != "" {
				sc.ProxyHits = p.float(c + "_proxy_hits")
			}
			switch c {
			case "train":
				rec.Train = sc
			case IdentityCondition:
				rec.Identity = sc
			default:
				rec.Shifted = append(rec.Shifted, sc)
			}
		}
		if p.err != nil {
			return p.err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// rowParser reads typed cells of one CSV row, keeping the first error.
type rowParser struct {
	row  []string
	col  map[string]int
	line int
	err  error
}

func (p *rowParser) get(name string) string {
	i, ok := p.col[name]
	if !ok || i >= len(p.row) {
		return ""
	}
	return strings.TrimSpace(p.row[i])
}

func (p *rowParser) fail(name, v string, allowed string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: ALife CSV line %d, column %s = %q, allowed %s", ErrInvalid, p.line, name, v, allowed)
	}
}

func (p *rowParser) uint(name string) uint64 {
	v := p.get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		p.fail(name, v, "a non-negative integer")
	}
	return n
}

func (p *rowParser) float(name string) float64 {
	v := p.get(name)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(name, v, "a number")
	}
	return f
}

func (p *rowParser) bool(name string) bool {
	v := p.get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, v, "true or false")
	}
	return b
}

func (p *rowParser) list(name, sep string) []string {
	if v := p.get(name); v != "" {
		return strings.Split(v, sep)
	}
	return nil
}

func (p *rowParser) floats(name string) []float64 {
	parts := p.list(name, ";")
	if parts == nil {
		return nil
	}
	out := make([]float64, len(parts))
	for i, s := range parts {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			p.fail(name, s, "numbers separated by ;")
		}
		out[i] = f
	}
	return out
}

func (p *rowParser) kind(name string) genome.Kind {
	switch v := p.get(name); v {
	case "", "unknown":
		return 0
	case "planner":
		return genome.KindPlanner
	case "heuristic":
		return genome.KindHeuristic
	default:
		p.fail(name, v, "planner or heuristic")
	}
	return 0
}

// ancestors parses "[NONE]", "[]" or "[1,2]" (spaces allowed).
func (p *rowParser) ancestors(name string) []uint64 {
	v := p.get(name)
	inner, open := strings.CutPrefix(v, "[")
	inner, closed := strings.CutSuffix(inner, "]")
	if !open || !closed {
		p.fail(name, v, `"[NONE]" or a bracketed list of ids`)
		return nil
	}
	inner = strings.TrimSpace(inner)
	if inner == "" || strings.EqualFold(inner, "NONE") {
		return nil
	}
	var out []uint64
	for _, s := range strings.Split(inner, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			p.fail(name, v, `"[NONE]" or a bracketed list of ids`)
			return nil
		}
		out = append(out, n)
	}
	return out
}

// WriteNewick writes the tree of primary-parent links in Newick format
// (Felsenstein, "The Newick tree format",
// https://phylipweb.github.io/phylip/newicktree.html): every node is
// labelled "id" followed by its ID (individual 12 is id12) and its branch
// length is the number of generations since its primary parent; children
// appear in ascending ID order. Several generation-0 roots are joined under
// an unlabelled root with zero-length branches. Crossover's second parents
// are not represented (Newick is a tree); use the ALife CSV for them. An
// empty snapshot writes ";".
//
// Why the prefix: the format lets an internal node carry a label, but
// readers take a label after ")" that parses as a number for a support
// value. Bio.Phylo (Biopython 1.80) moves such a label to the clade's
// confidence and leaves its name empty, and it does so for a quoted label
// too ('12' is unquoted, then parsed), so quoting alone does not help.
// "id12" is an unquoted label of the standard (letters and digits only, no
// blanks, ()[]':;, or underscores to unquote) that no reader takes for a
// number: Bio.Phylo keeps it as the clade name, and ete3 (3.1) keeps it as
// the node name with format=1 (internal node names; its default format 0
// reads internal labels as support values and rejects non-numbers).
//
// Memory: a primary-children index (16 bytes per record) and a stack as
// deep as the tree, behind a 64 KiB buffer; no recursion.
// newickPrefix starts every Newick node label (see WriteNewick).
const newickPrefix = "id"

func (sn Snapshot) WriteNewick(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	pos := make(map[uint64]int, len(sn.recs))
	for i, r := range sn.recs {
		pos[r.ID] = i
	}
	// children[i] lists positions of records whose primary parent is at i;
	// built as one flat array (counting sort) to keep allocation to two slices.
	start := make([]int32, len(sn.recs)+1)
	for _, r := range sn.recs {
		if len(r.Parents) > 0 {
			start[pos[r.Parents[0]]+1]++
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	kids := make([]int32, start[len(start)-1])
	fill := append([]int32(nil), start[:len(sn.recs)]...)
	var roots []int32
	for i, r := range sn.recs { // ascending ID, so each child list is ascending
		if len(r.Parents) == 0 {
			roots = append(roots, int32(i))
			continue
		}
		p := pos[r.Parents[0]]
		kids[fill[p]] = int32(i)
		fill[p]++
	}
	label := func(i int32, length uint32) {
		bw.WriteString(newickPrefix)
		bw.WriteString(strconv.FormatUint(sn.recs[i].ID, 10))
		bw.WriteByte(':')
		bw.WriteString(strconv.FormatUint(uint64(length), 10))
	}
	type frame struct {
		node int32
		next int32 // next child position in kids
	}
	var stack []frame
	writeTree := func(root int32) {
		stack = append(stack[:0], frame{root, start[root]})
		if start[root] < start[root+1] {
			bw.WriteByte('(')
		}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < start[top.node+1] {
				child := kids[top.next]
				if top.next > start[top.node] {
					bw.WriteByte(',')
				}
				top.next++
				stack = append(stack, frame{child, start[child]})
				if start[child] < start[child+1] {
					bw.WriteByte('(')
				}
				continue
			}
			n := top.node
			stack = stack[:len(stack)-1]
			if start[n] < start[n+1] {
				bw.WriteByte(')')
			}
			var length uint32
			if r := sn.recs[n]; len(r.Parents) > 0 {
				length = r.Generation - sn.recs[pos[r.Parents[0]]].Generation
			}
			label(n, length)
		}
	}
	if len(roots) > 1 {
		bw.WriteByte('(')
	}
	for k, root := range roots {
		if k > 0 {
			bw.WriteByte(',')
		}
		writeTree(root)
	}
	if len(roots) > 1 {
		bw.WriteByte(')')
	}
	bw.WriteString(";\n")
	return bw.Flush()
}

// DOTScope chooses which records WriteDOT draws.
type DOTScope int

const (
	// DOTLines, the default, draws the lines of descent of the champions and
	// of the drift origins: each champion and each flagged planner where a
	// flag began (see WriteDOT), with its primary-parent ancestors back to
	// generation 0. Every other record is hidden and counted on its
	// generation's row.
	DOTLines DOTScope = iota
	// DOTFull draws every record of the snapshot.
	DOTFull
)

// ExportOptions are the settings of Snapshot.Export. The zero value is the
// default of every format.
type ExportOptions struct {
	// Conditions are the shifted condition names, for the ALife columns.
	Conditions []string
	// DOT is the scope of the DOT picture; the other formats always hold
	// every record.
	DOT DOTScope
}

// Export writes the snapshot in format (FormatALife, FormatNewick or
// FormatDOT; ErrInvalid otherwise) to w, as opts say.
func (sn Snapshot) Export(w io.Writer, format string, opts ExportOptions) error {
	switch format {
	case FormatALife:
		return sn.WriteALife(w, opts.Conditions)
	case FormatNewick:
		return sn.WriteNewick(w)
	case FormatDOT:
		return sn.WriteDOT(w, opts.DOT)
	}
	return fmt.Errorf("%w: format = %q, allowed %s, %s or %s", ErrInvalid, format, FormatALife, FormatNewick, FormatDOT)
}

// DOT colours. Red is for flags only; the one fill marks where a flag began.
const (
	dotFlagged = "#c0392b" // outline and text of a flagged record
	dotOrigin  = "#f4a6a6" // fill of a drift origin
	dotHidden  = "#777777" // the notes counting hidden records
)

// WriteDOT writes the phylogeny as a Graphviz digraph (https://graphviz.org/doc/info/lang.html),
// one row per generation (rank=same), nodes in ascending ID order, an edge
// from each parent to its child (solid for the primary parent, dashed for a
// crossover's second parent when that parent is drawn).
//
// scope DOTLines (the default) draws only the lines of descent of the
// champions and of the drift origins, so the picture of a whole run stays
// readable. A drift origin is a flagged planner whose nearest analysed
// primary ancestor is unflagged or absent: the Ancestor that DriftOrigin
// names for it and for every flagged descendant that inherited its flag.
// Every flag's beginning is therefore drawn, and with it the ancestry it
// arose from, but not the flagged descendants themselves. The lines of all
// flagged planners would not do: in a default run (48 planners, 30
// generations) 1,056 of the 1,157 retained individuals are flagged and
// their lines hold 1,129 of them; the champions' and origins' lines hold
// 276. Each generation's row starts with a grey note, "g5" or
// "g5: +37 hidden" when records of it are not drawn; the graph's label
// says how many were drawn and how to get the rest (DOTFull, mesactl
// export --format dot --full).
//
// A node's label is "#ID" and its fitness (the generation is its row).
// Colour is used sparingly: flagged records have a red outline and text
// (bold for pseudo-aligned ones, with the flag reasons as tooltip); a drift
// origin is the only filled node (light red) and says "origin"; champions have a double
// border; planners are boxes, heuristics ellipses; everything else is
// black on white. Memory: one byte of state and one generation index per
// record, behind a 64 KiB buffer.
func (sn Snapshot) WriteDOT(w io.Writer, scope DOTScope) error {
	pos := make(map[uint64]int, len(sn.recs))
	for i, r := range sn.recs {
		pos[r.ID] = i
	}
	const (
		shown   = 1 << iota // drawn
		flagRun             // the nearest analysed record on the primary line, itself included, is flagged
		origin              // a drift origin: flagged, and its primary parent is not in a flagged run
	)
	state := make([]uint8, len(sn.recs))
	for i, r := range sn.recs { // ascending ID: parents first
		switch {
		case r.Flagged:
			state[i] |= flagRun
		case r.Analyzed():
		case len(r.Parents) > 0:
			state[i] |= state[pos[r.Parents[0]]] & flagRun
		}
	}
	for i, r := range sn.recs {
		if r.Flagged && (len(r.Parents) == 0 || state[pos[r.Parents[0]]]&flagRun == 0) {
			state[i] |= origin
		}
	}
	drawn, flagged, origins, champions := 0, 0, 0, 0
	for i := len(sn.recs) - 1; i >= 0; i-- {
		r := sn.recs[i]
		if r.Flagged {
			flagged++
		}
		if state[i]&origin != 0 {
			origins++
		}
		if r.Champion {
			champions++
		}
		if scope != DOTFull && !r.Champion && !(state[i]&origin != 0 && r.Kind == genome.KindPlanner) {
			continue
		}
		for j := i; state[j]&shown == 0; {
			state[j] |= shown
			drawn++
			p := sn.recs[j].Parents
			if len(p) == 0 {
				break
			}
			j = pos[p[0]]
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("digraph phylogeny {\n  rankdir=TB;\n  nodesep=0.15;\n  ranksep=0.3;\n")
	bw.WriteString("  node [fontname=\"Helvetica\", fontsize=10, margin=\"0.05,0.02\", height=0.3];\n  edge [arrowsize=0.5];\n")
	title := fmt.Sprintf("%d individuals (flagged %d, champions %d)", len(sn.recs), flagged, champions)
	if scope != DOTFull {
		title = fmt.Sprintf("lines of descent of the champions and the drift origins: %d of %d individuals drawn (flagged %d, drift origins %d, champions %d); --full draws all",
			drawn, len(sn.recs), flagged, origins, champions)
	}
	fmt.Fprintf(bw, "  labelloc=t;\n  label=\"%s\";\n", dotEscape(title))
	var row []uint64 // drawn IDs of the current generation
	hidden := 0
	prevGen := -1
	endRow := func(g uint32) {
		note := fmt.Sprintf("g%d", g)
		if hidden > 0 {
			note += fmt.Sprintf(": +%d hidden", hidden)
		}
		fmt.Fprintf(bw, "  gen%d [shape=plaintext, fontcolor=\"%s\", label=\"%s\"];\n", g, dotHidden, note)
		if prevGen >= 0 { // keeps the rows in order when a generation has nothing drawn
			fmt.Fprintf(bw, "  gen%d -> gen%d [style=invis];\n", prevGen, g)
		}
		prevGen = int(g)
		fmt.Fprintf(bw, "  { rank=same; gen%d;", g)
		for _, id := range row {
			fmt.Fprintf(bw, " %d;", id)
		}
		bw.WriteString(" }\n")
		row, hidden = row[:0], 0
	}
	// One row per generation, whatever the order of IDs across generations.
	byGen := map[uint32][]int{}
	var gens []uint32
	for i, r := range sn.recs {
		if _, ok := byGen[r.Generation]; !ok {
			gens = append(gens, r.Generation)
		}
		byGen[r.Generation] = append(byGen[r.Generation], i)
	}
	slices.Sort(gens)
	for _, g := range gens {
		for _, i := range byGen[g] {
			r := sn.recs[i]
			if state[i]&shown == 0 {
				hidden++
				continue
			}
			row = append(row, r.ID)
			shape := "ellipse"
			if r.Kind == genome.KindPlanner {
				shape = "box"
			}
			label := fmt.Sprintf("#%d\\n%.3f", r.ID, r.Fitness)
			var attrs []string
			if r.Flagged {
				isOrigin := state[i]&origin != 0
				style := "solid"
				if isOrigin {
					label += "\\norigin"
					style = "filled"
					attrs = append(attrs, `fillcolor="`+dotOrigin+`"`)
				}
				attrs = append(attrs, `style="`+style+boldIfPseudo(r)+`"`, `color="`+dotFlagged+`"`, `fontcolor="`+dotFlagged+`"`,
					`tooltip="`+dotEscape(strings.Join(r.FlagReasons, "; "))+`"`)
			}
			if r.Champion {
				attrs = append(attrs, "peripheries=2")
			}
			fmt.Fprintf(bw, "  %d [label=\"%s\", shape=%s", r.ID, label, shape)
			for _, a := range attrs {
				bw.WriteString(", " + a)
			}
			bw.WriteString("];\n")
			for k, p := range r.Parents {
				switch {
				case k == 0:
					fmt.Fprintf(bw, "  %d -> %d;\n", p, r.ID)
				case state[pos[p]]&shown != 0:
					fmt.Fprintf(bw, "  %d -> %d [style=dashed];\n", p, r.ID)
				}
			}
		}
		endRow(g)
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

func boldIfPseudo(r *Record) string {
	for _, s := range r.Shifted {
		if s.Class == ClassPseudoAligned {
			return ",bold"
		}
	}
	return ""
}

func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func kindName(k genome.Kind) string {
	switch k {
	case genome.KindPlanner:
		return "planner"
	case genome.KindHeuristic:
		return "heuristic"
	}
	return "unknown"
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func joinFloats(v []float64, sep string) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmtFloat(f)
	}
	return strings.Join(parts, sep)
}

func joinUints(v []uint64, sep string) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, sep)
}

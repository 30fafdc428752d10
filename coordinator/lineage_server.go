package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// Limits of LineageService requests.
const (
	maxPageSize      = 1000
	defaultPageSize  = 100
	maxDescendants   = 10000
	defaultDescLimit = 1000
	maxDescentDepth  = 1000
	maxMRCAIDs       = 10000
	// watchBuffer is how many generations WatchGenerations holds for a
	// client that reads slowly before it fails the stream.
	watchBuffer = 64
	// exportChunk is the size of one ExportPhylogeny message.
	exportChunk = 64 << 10
)

// lineageServer serves LineageService from the lineage of a run: the live
// store of a run this coordinator executes, or one loaded from etcd.
type lineageServer struct {
	rpc.UnimplementedLineageServiceServer
	c *Coordinator
	// watchBuffer overrides the package's watchBuffer when > 0 (tests).
	watchBuffer int
}

func (s *lineageServer) run(ctx context.Context, run string) (*activeRun, error) {
	if err := requireRunID(run); err != nil {
		return nil, err
	}
	ar, err := s.c.view(ctx, run)
	if err != nil {
		return nil, grpcError(err)
	}
	return ar, nil
}

func (s *lineageServer) record(ctx context.Context, run string, id uint64) (*activeRun, lineage.Record, error) {
	ar, err := s.run(ctx, run)
	if err != nil {
		return nil, lineage.Record{}, err
	}
	ar.mu.Lock()
	r, ok := ar.lineage.Get(id)
	ar.mu.Unlock()
	if !ok {
		return nil, lineage.Record{}, notRetained(run, id)
	}
	return ar, r, nil
}

func notRetained(run string, id uint64) error {
	return status.Errorf(codes.NotFound, "individual %d is not in the lineage of run %s (never born, or pruned: only ancestors of the living population, flagged individuals and champions are kept)", id, run)
}

func (s *lineageServer) GetIndividual(ctx context.Context, req *pb.GetIndividualRequest) (*pb.GetIndividualResponse, error) {
	ar, r, err := s.record(ctx, req.GetRunId(), req.GetIndividualId())
	if err != nil {
		return nil, err
	}
	resp := &pb.GetIndividualResponse{Individual: RecordToProto(r, nil), FeatureNames: ar.spec.Env().Features()}
	// Provenance, outside every digest: best effort, absent when unknown.
	if p, err := s.c.store.Provenance(ctx, req.GetRunId(), r.Generation); err == nil {
		if i := slices.Index(p.GetIndividualIds(), r.ID); i >= 0 && i < len(p.GetWorkers()) {
			resp.EvaluatedBy = p.GetWorkers()[i]
		}
	}
	return resp, nil
}

func (s *lineageServer) GetLineOfDescent(ctx context.Context, req *pb.GetLineOfDescentRequest) (*pb.GetLineOfDescentResponse, error) {
	ar, _, err := s.record(ctx, req.GetRunId(), req.GetIndividualId())
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	line, err := ar.lineage.LineOfDescent(req.GetIndividualId())
	ar.mu.Unlock()
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.GetLineOfDescentResponse{FeatureNames: ar.spec.Env().Features()}
	for _, r := range line {
		resp.Individuals = append(resp.Individuals, RecordToProto(r, nil))
	}
	return resp, nil
}

// flaggedFilter turns a request's filters into a lineage.Filter, naming
// the field of any bad value. last is the last generation of the run.
func flaggedFilter(req *pb.ListFlaggedRequest, conditions []string, last uint32) (lineage.Filter, error) {
	f := lineage.DefaultFilter()
	switch req.GetKind() {
	case pb.GenomeKind_GENOME_KIND_UNSPECIFIED:
	case pb.GenomeKind_GENOME_KIND_PLANNER, pb.GenomeKind_GENOME_KIND_HEURISTIC:
		f.Kind = genome.KindFromProto(req.GetKind())
	default:
		return f, status.Errorf(codes.InvalidArgument, "kind = %d, allowed GENOME_KIND_PLANNER or GENOME_KIND_HEURISTIC", req.GetKind())
	}
	if c := req.GetClassification(); c != pb.AlignmentClass_ALIGNMENT_CLASS_UNSPECIFIED {
		if f.Class = ClassFromProto(c); f.Class == lineage.ClassUnknown {
			return f, status.Errorf(codes.InvalidArgument, "classification = %d, allowed one of the AlignmentClass values", c)
		}
	}
	if c := req.GetCondition(); c != "" {
		known := false
		for _, k := range conditions {
			known = known || k == c
		}
		if !known {
			return f, status.Errorf(codes.InvalidArgument, "condition = %q, allowed one of the run's shifted conditions %q", c, conditions)
		}
		f.Condition = c
	}
	ranged := req.MinGeneration != nil || req.MaxGeneration != nil
	switch {
	case req.Generation != nil && ranged:
		return f, status.Error(codes.InvalidArgument, "generation is set together with min_generation/max_generation, allowed one or the other")
	case req.Generation != nil:
		if req.GetGeneration() > last {
			return f, status.Errorf(codes.InvalidArgument, "generation = %d, allowed 0..%d (the generations evaluated so far)", req.GetGeneration(), last)
		}
		f.MinGeneration, f.MaxGeneration = req.GetGeneration(), req.GetGeneration()
	case ranged:
		if req.MinGeneration != nil {
			f.MinGeneration = req.GetMinGeneration()
		}
		if req.MaxGeneration != nil {
			f.MaxGeneration = req.GetMaxGeneration()
		}
		if f.MinGeneration > f.MaxGeneration {
			return f, status.Errorf(codes.InvalidArgument, "min_generation = %d is above max_generation = %d", f.MinGeneration, f.MaxGeneration)
		}
	default:
		f.MinGeneration, f.MaxGeneration = last, last
	}
	return f, nil
}

// pageToken encodes an offset with a fingerprint of the filter it belongs
// to, so a token replayed with other filters is refused instead of
// silently skipping records.
func pageToken(offset int, f lineage.Filter) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(offset))
	copy(b[8:], filterPrint(f))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func filterPrint(f lineage.Filter) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%d|%q|%d|%d", f.Kind, f.Class, f.Condition, f.MinGeneration, f.MaxGeneration))
	return h[:4]
}

func parseToken(t string, f lineage.Filter) (int, error) {
	if t == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) != 12 || string(b[8:]) != string(filterPrint(f)) || binary.BigEndian.Uint64(b[:8]) > 1<<40 {
		return 0, status.Errorf(codes.InvalidArgument, "page_token = %q, allowed the next_page_token of a previous response with the same filters", t)
	}
	return int(binary.BigEndian.Uint64(b[:8])), nil
}

func (s *lineageServer) ListFlagged(ctx context.Context, req *pb.ListFlaggedRequest) (*pb.ListFlaggedResponse, error) {
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultPageSize
	}
	if size < 1 || size > maxPageSize {
		return nil, status.Errorf(codes.InvalidArgument, "page_size = %d, allowed 1..%d", size, maxPageSize)
	}
	ar, err := s.run(ctx, req.GetRunId())
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	last, _ := ar.lineage.LastGeneration()
	ar.mu.Unlock()
	f, err := flaggedFilter(req, ar.spec.ShiftedConditions, last)
	if err != nil {
		return nil, err
	}
	offset, err := parseToken(req.GetPageToken(), f)
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	page, more := ar.lineage.ListFlagged(f, offset, size)
	ar.mu.Unlock()
	resp := &pb.ListFlaggedResponse{FeatureNames: ar.spec.Env().Features()}
	for _, r := range page {
		resp.Individuals = append(resp.Individuals, RecordToProto(r, nil))
	}
	if more {
		resp.NextPageToken = pageToken(offset+len(page), f)
	}
	return resp, nil
}

func (s *lineageServer) GetDriftOrigin(ctx context.Context, req *pb.GetDriftOriginRequest) (*pb.GetDriftOriginResponse, error) {
	ar, _, err := s.record(ctx, req.GetRunId(), req.GetIndividualId())
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	o, ok, err := ar.lineage.DriftOrigin(req.GetIndividualId())
	ar.mu.Unlock()
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.GetDriftOriginResponse{FeatureNames: ar.spec.Env().Features()}
	if ok {
		resp.Origin = originToProto(o)
	}
	return resp, nil
}

func (s *lineageServer) GetDescendants(ctx context.Context, req *pb.GetDescendantsRequest) (*pb.GetDescendantsResponse, error) {
	depth, limit := int(req.GetMaxDepth()), int(req.GetLimit())
	if depth == 0 {
		depth = 1
	}
	if limit == 0 {
		limit = defaultDescLimit
	}
	if depth > maxDescentDepth {
		return nil, status.Errorf(codes.InvalidArgument, "max_depth = %d, allowed 1..%d", depth, maxDescentDepth)
	}
	if limit > maxDescendants {
		return nil, status.Errorf(codes.InvalidArgument, "limit = %d, allowed 1..%d", limit, maxDescendants)
	}
	ar, _, err := s.record(ctx, req.GetRunId(), req.GetIndividualId())
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	out, truncated, err := ar.lineage.Descendants(req.GetIndividualId(), depth, limit)
	ar.mu.Unlock()
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.GetDescendantsResponse{Truncated: truncated, FeatureNames: ar.spec.Env().Features()}
	for _, r := range out {
		resp.Individuals = append(resp.Individuals, RecordToProto(r, nil))
	}
	return resp, nil
}

func (s *lineageServer) GetMRCA(ctx context.Context, req *pb.GetMRCARequest) (*pb.GetMRCAResponse, error) {
	ids := req.GetIndividualIds()
	if len(ids) == 0 || len(ids) > maxMRCAIDs {
		return nil, status.Errorf(codes.InvalidArgument, "individual_ids has %d ids, allowed 1..%d", len(ids), maxMRCAIDs)
	}
	ar, err := s.run(ctx, req.GetRunId())
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	for _, id := range ids {
		if _, ok := ar.lineage.Get(id); !ok {
			ar.mu.Unlock()
			return nil, notRetained(req.GetRunId(), id)
		}
	}
	r, depth, ok, err := ar.lineage.MRCAOf(ids)
	ar.mu.Unlock()
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.GetMRCAResponse{FeatureNames: ar.spec.Env().Features()}
	if ok {
		resp.Mrca, resp.Depth = RecordToProto(r, nil), depth
	}
	return resp, nil
}

func (s *lineageServer) GetGenerationStats(ctx context.Context, req *pb.GetGenerationStatsRequest) (*pb.GetGenerationStatsResponse, error) {
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	lo, hi := req.GetMinGeneration(), ^uint32(0)
	if req.MaxGeneration != nil {
		hi = req.GetMaxGeneration()
	}
	if lo > hi {
		return nil, status.Errorf(codes.InvalidArgument, "min_generation = %d is above max_generation = %d", lo, hi)
	}
	if _, err := s.c.store.Spec(ctx, req.GetRunId()); err != nil {
		return nil, grpcError(err)
	}
	sums, _, err := s.c.store.Summaries(ctx, req.GetRunId())
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.GetGenerationStatsResponse{}
	for _, sum := range sums {
		if g := sum.GetGeneration(); g >= lo && g <= hi && sum.GetLineage() != nil {
			resp.Stats = append(resp.Stats, sum.GetLineage())
		}
	}
	return resp, nil
}

// WatchGenerations sends the committed generations' stats from
// from_generation on, then follows etcd. A reader goroutine fills a buffer
// of watchBuffer generations and the handler drains it into the stream; a
// client too slow to keep the buffer from filling gets RESOURCE_EXHAUSTED
// naming where to resume, rather than the server buffering without bound.
func (s *lineageServer) WatchGenerations(req *pb.WatchGenerationsRequest, stream rpc.LineageService_WatchGenerationsServer) error {
	release, err := s.c.admit.stream(stream.Context())
	if err != nil {
		return grpcError(err)
	}
	defer release()
	if err := requireRunID(req.GetRunId()); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	stop := context.AfterFunc(s.c.runCtx, cancel) // shutting down ends watches
	defer stop()
	id := req.GetRunId()
	if _, err := s.c.store.Status(ctx, id); err != nil {
		return grpcError(err)
	}
	buffer := s.watchBuffer
	if buffer <= 0 {
		buffer = watchBuffer
	}
	err = pump(ctx, buffer, req.GetFromGeneration(), func(ctx context.Context, f feed) error {
		return s.followStats(ctx, id, req.GetFromGeneration(), f)
	}, func(st *pb.GenerationStats) error {
		return stream.Send(&pb.WatchGenerationsResponse{Stats: st})
	})
	if err == nil && s.c.runCtx.Err() != nil && stream.Context().Err() == nil {
		return status.Error(codes.Unavailable, "coordinator shutting down")
	}
	return err
}

// followStats feeds the stats of every committed generation ≥ from (as
// stored: waiting for the client), then of each one committed later (live),
// until the run reaches a terminal state (returns nil), ctx ends, or the
// feed refuses (returns nil: pump reports it).
func (s *lineageServer) followStats(ctx context.Context, id string, from uint32, f feed) error {
	st, err := s.c.store.Status(ctx, id)
	if err != nil {
		return grpcError(err)
	}
	sums, rev, err := s.c.store.Summaries(ctx, id)
	if err != nil {
		return grpcError(err)
	}
	next := from
	for _, sum := range sums {
		if sum.GetGeneration() >= next && sum.GetLineage() != nil {
			if !f.stored(sum.GetLineage()) {
				return nil
			}
			next = sum.GetGeneration() + 1
		}
	}
	if terminal(st.GetState()) {
		return nil
	}
	for wr := range s.c.store.Watch(ctx, id, rev+1) {
		if err := wr.Err(); err != nil {
			return grpcError(err)
		}
		for _, ev := range wr.Events {
			key := string(ev.Kv.Key)
			switch {
			case s.c.store.IsSummaryKey(key):
				var sum pb.GenerationSummary
				if err := unmarshal(ev.Kv.Value, &sum); err != nil {
					return grpcError(err)
				}
				if sum.GetGeneration() < next || sum.GetLineage() == nil {
					continue
				}
				next = sum.GetGeneration() + 1
				if !f.live(sum.GetLineage()) {
					return nil
				}
			case s.c.store.IsStatusKey(key):
				var rs pb.RunStatus
				if err := unmarshal(ev.Kv.Value, &rs); err != nil {
					return grpcError(err)
				}
				if terminal(rs.GetState()) {
					return nil
				}
			}
		}
	}
	return nil
}

// feed is what pump gives its producer. stored queues a generation that
// was already committed (the history a watch starts with, held in memory
// anyway): it waits for the client, however slow. live queues one just
// committed: when the buffer is full the client has fallen behind the run,
// and it returns false. Both return false once the watch ends.
type feed struct {
	stored, live func(*pb.GenerationStats) bool
}

// pump runs produce in a goroutine that feeds a buffer of n values, and
// sends them in order with send on the calling goroutine. When a live value
// finds the buffer full, pump fails with RESOURCE_EXHAUSTED naming the
// first generation not sent. It returns produce's or send's error, or nil
// when produce ends and all was sent.
func pump(ctx context.Context, n int, from uint32, produce func(context.Context, feed) error,
	send func(*pb.GenerationStats) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan *pb.GenerationStats, n)
	behind := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer close(queue)
		var full sync.Once
		done <- produce(ctx, feed{
			stored: func(st *pb.GenerationStats) bool {
				select {
				case queue <- st:
					return ctx.Err() == nil
				case <-ctx.Done():
					return false
				}
			},
			live: func(st *pb.GenerationStats) bool {
				if ctx.Err() != nil {
					return false
				}
				select {
				case queue <- st:
					return true
				default:
					full.Do(func() { close(behind) })
					return false
				}
			},
		})
	}()
	next := from
	for {
		select {
		case st, ok := <-queue:
			if !ok {
				select {
				case <-behind:
					return status.Errorf(codes.ResourceExhausted,
						"client fell %d generations behind; reconnect with from_generation = %d", n, next)
				default:
				}
				return <-done
			}
			if err := send(st); err != nil {
				cancel()
				for range queue { // let produce finish
				}
				<-done
				return err
			}
			next = st.GetGeneration() + 1
		case <-behind:
			cancel()
			for range queue {
			}
			<-done
			return status.Errorf(codes.ResourceExhausted,
				"client fell %d generations behind; reconnect with from_generation = %d", n, next)
		}
	}
}

// ExportPhylogeny streams a snapshot of the retained phylogeny (for DOT,
// the lines of descent of the champions and drift origins unless
// req.full). The snapshot shares the store's immutable records (8 bytes
// per record), so the run goes on while a slow client reads; the file
// itself is never held in memory: it is written in 64 KiB messages as gRPC
// flow control allows.
func (s *lineageServer) ExportPhylogeny(req *pb.ExportPhylogenyRequest, stream rpc.LineageService_ExportPhylogenyServer) error {
	release, err := s.c.admit.stream(stream.Context())
	if err != nil {
		return grpcError(err)
	}
	defer release()
	var format string
	switch req.GetFormat() {
	case pb.ExportFormat_EXPORT_FORMAT_ALIFE:
		format = lineage.FormatALife
	case pb.ExportFormat_EXPORT_FORMAT_NEWICK:
		format = lineage.FormatNewick
	case pb.ExportFormat_EXPORT_FORMAT_DOT:
		format = lineage.FormatDOT
	default:
		return status.Errorf(codes.InvalidArgument, "format = %s, allowed EXPORT_FORMAT_ALIFE, EXPORT_FORMAT_NEWICK or EXPORT_FORMAT_DOT", req.GetFormat())
	}
	ar, err := s.run(stream.Context(), req.GetRunId())
	if err != nil {
		return err
	}
	ar.mu.Lock()
	snap := ar.lineage.Snapshot()
	ar.mu.Unlock()
	w := &chunkWriter{send: func(b []byte) error {
		return stream.Send(&pb.ExportPhylogenyResponse{Chunk: b})
	}}
	opts := lineage.ExportOptions{Conditions: ar.spec.ShiftedConditions}
	if req.GetFull() {
		opts.DOT = lineage.DOTFull
	}
	if err := snap.Export(w, format, opts); err != nil {
		return err
	}
	return w.flush()
}

// chunkWriter cuts what is written into messages of at most exportChunk
// bytes. Each message gets its own slice: gRPC may hold it after Send.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, exportChunk)
		}
		k := min(len(p), exportChunk-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == exportChunk {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	b := w.buf
	w.buf = nil
	return w.send(b)
}

// statsToProto encodes phylogenetic metrics with the size figures.
func statsToProto(m lineage.Metrics, births uint64, retained int, retainedBytes, storedBytes int64) *pb.GenerationStats {
	return &pb.GenerationStats{
		Generation: m.Generation, Extant: uint32(m.Extant), Coalesced: m.Coalesced, MrcaId: m.MRCA,
		MrcaDepth: m.MRCADepth, Roots: uint32(m.Roots), PhylogeneticDiversity: m.PD, MeanPairwiseDistance: m.MPD,
		PlannerShare: m.PlannerShare, FlaggedShare: m.FlaggedShare,
		Births: births, Retained: uint64(retained), RetainedBytes: retainedBytes, StoredBytes: storedBytes,
	}
}

// GetSensitivity recomputes a generation's verdicts at other thresholds.
func (s *lineageServer) GetSensitivity(ctx context.Context, req *pb.GetSensitivityRequest) (*pb.GetSensitivityResponse, error) {
	ar, err := s.run(ctx, req.GetRunId())
	if err != nil {
		return nil, err
	}
	ar.mu.Lock()
	defer ar.mu.Unlock()
	last, ok := ar.lineage.LastGeneration()
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "run %s has no evaluated generation yet", req.GetRunId())
	}
	gen := last
	if req.Generation != nil {
		gen = req.GetGeneration()
		if gen > last {
			return nil, status.Errorf(codes.InvalidArgument, "generation = %d, allowed 0..%d (the last evaluated)", gen, last)
		}
	}
	rows := lineage.Sensitivity(ar.lineage.Generation(gen), ar.spec.LineageThresholds())
	return &pb.GetSensitivityResponse{Generation: gen, Rows: sensitivityToProto(rows)}, nil
}

func sensitivityToProto(rows []lineage.SensitivityRow) []*pb.SensitivityRow {
	out := make([]*pb.SensitivityRow, len(rows))
	for i, r := range rows {
		p := &pb.SensitivityRow{Varied: r.Varied, BaseHigh: r.Thresholds.BaseHigh, CompetenceHigh: r.Thresholds.CompetenceHigh, Drift: r.Thresholds.Drift}
		for _, c := range r.Conditions {
			cc := &pb.ClassCounts{Condition: c.Condition,
				RobustlyAligned: uint32(c.Classes[lineage.ClassRobustlyAligned]), PseudoAligned: uint32(c.Classes[lineage.ClassPseudoAligned]),
				CapabilityFailure: uint32(c.Classes[lineage.ClassCapabilityFailure]), Misaligned: uint32(c.Classes[lineage.ClassMisaligned]),
				FlaggedPseudoAligned: uint32(c.FlaggedPseudo), FlaggedDriftOnly: uint32(c.FlaggedDrift)}
			cc.Individuals = cc.RobustlyAligned + cc.PseudoAligned + cc.CapabilityFailure + cc.Misaligned
			p.Conditions = append(p.Conditions, cc)
		}
		out[i] = p
	}
	return out
}

package coordinator

import (
	"context"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// lineageServer serves LineageService from the lineage of a run: the live
// store of a run this coordinator executes, or one loaded from etcd.
type lineageServer struct {
	pb.UnimplementedLineageServiceServer
	c *Coordinator
}

func (s *lineageServer) record(ctx context.Context, run string, id uint64) (*activeRun, lineage.Record, error) {
	if err := requireRunID(run); err != nil {
		return nil, lineage.Record{}, err
	}
	ar, err := s.c.view(ctx, run)
	if err != nil {
		return nil, lineage.Record{}, grpcError(err)
	}
	ar.mu.Lock()
	r, ok := ar.lineage.Get(id)
	ar.mu.Unlock()
	if !ok {
		return nil, lineage.Record{}, status.Errorf(codes.NotFound, "individual %d is not in the lineage of run %s", id, run)
	}
	return ar, r, nil
}

func (s *lineageServer) GetIndividual(ctx context.Context, req *pb.GetIndividualRequest) (*pb.GetIndividualResponse, error) {
	_, r, err := s.record(ctx, req.GetRunId(), req.GetIndividualId())
	if err != nil {
		return nil, err
	}
	return &pb.GetIndividualResponse{Individual: RecordToProto(r, nil), FeatureNames: fitness.Shape().Features}, nil
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
	resp := &pb.GetLineOfDescentResponse{FeatureNames: fitness.Shape().Features}
	for _, r := range line {
		resp.Individuals = append(resp.Individuals, RecordToProto(r, nil))
	}
	return resp, nil
}

func (s *lineageServer) ListFlagged(ctx context.Context, req *pb.ListFlaggedRequest) (*pb.ListFlaggedResponse, error) {
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	if size < 1 || size > 1000 {
		return nil, status.Errorf(codes.InvalidArgument, "page_size = %d, allowed 1..1000", size)
	}
	offset := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "page_token = %q, allowed a token from a previous response", t)
		}
		offset = n
	}
	ar, err := s.c.view(ctx, req.GetRunId())
	if err != nil {
		return nil, grpcError(err)
	}
	ar.mu.Lock()
	gen := uint32(0)
	if len(ar.last) > 0 {
		gen = ar.last[0].Generation
	}
	if req.Generation != nil {
		gen = req.GetGeneration()
	}
	flagged := ar.lineage.Flagged(gen)
	ar.mu.Unlock()
	resp := &pb.ListFlaggedResponse{FeatureNames: fitness.Shape().Features}
	for i := offset; i < len(flagged) && i < offset+size; i++ {
		resp.Individuals = append(resp.Individuals, RecordToProto(flagged[i], nil))
	}
	if offset+size < len(flagged) {
		resp.NextPageToken = strconv.Itoa(offset + size)
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
	resp := &pb.GetDriftOriginResponse{FeatureNames: fitness.Shape().Features}
	if ok {
		resp.Origin = originToProto(o)
	}
	return resp, nil
}

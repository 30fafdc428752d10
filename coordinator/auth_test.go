package coordinator_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// TestPolicyCoversEveryMethod: every RunService and LineageService method
// has a role in coordinator.Policy and every EvaluatorService method one
// in worker.Policy (a missing one would be refused to everyone).
func TestPolicyCoversEveryMethod(t *testing.T) {
	for _, tc := range []struct {
		policy mtls.Policy
		desc   grpc.ServiceDesc
	}{{coordinator.Policy, rpc.RunService_ServiceDesc}, {coordinator.Policy, rpc.LineageService_ServiceDesc}, {worker.Policy, rpc.EvaluatorService_ServiceDesc}} {
		var names []string
		for _, m := range tc.desc.Methods {
			names = append(names, m.MethodName)
		}
		for _, s := range tc.desc.Streams {
			names = append(names, s.StreamName)
		}
		for _, n := range names {
			full := "/" + tc.desc.ServiceName + "/" + n
			if _, ok := tc.policy[full]; !ok {
				t.Errorf("%s has no role in the policy", full)
			}
		}
	}
}

func certDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	if err := mtls.WriteDir(dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func identity(t *testing.T, dir, name string) *mtls.Identity {
	t.Helper()
	id, err := mtls.LoadFrom(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// dialAs connects to addr presenting name's certificate ("" for none).
func dialAs(t *testing.T, dir, name, addr string, peer mtls.Role) *grpc.ClientConn {
	t.Helper()
	// Without a name: the operator's trust and checks, no certificate sent.
	tc := identity(t, dir, mtls.FileOperator).ClientTLS(peer, true)
	if name != "" {
		tc = identity(t, dir, name).ClientTLS(peer, true)
	} else {
		tc.Certificates = nil
	}
	tc.ServerName = "localhost" // a name the servers' certificates carry; an IP address sends none
	conn, err := grpc.NewClient(addr, append(grpcconf.ClientOptions(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestRolesOverTLS: without a client certificate SubmitRun and CancelRun
// are Unauthenticated, with the read-only one PermissionDenied naming the
// operator role (while reading works), and the operator's succeed.
func TestRolesOverTLS(t *testing.T) {
	dir := certDir(t)
	c := startCoordinatorWith(t, startEtcd(t), worker.NewEngine(1), func(cfg *coordinator.Config) { cfg.TLS = identity(t, dir, mtls.FileCoordinator) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := smallSpec()
	spec.Generations = 1000

	anon := rpc.NewRunServiceClient(dialAs(t, dir, "", c.GRPCAddr(), mtls.RoleCoordinator))
	if _, err := anon.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("SubmitRun without a certificate: %v, want Unauthenticated", err)
	}
	if _, err := anon.CancelRun(ctx, &pb.CancelRunRequest{RunId: "x"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("CancelRun without a certificate: %v, want Unauthenticated", err)
	}
	if _, err := anon.ListRuns(ctx, &pb.ListRunsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("ListRuns without a certificate: %v, want Unauthenticated", err)
	}

	ro := rpc.NewRunServiceClient(dialAs(t, dir, mtls.FileReadOnly, c.GRPCAddr(), mtls.RoleCoordinator))
	if _, err := ro.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()}); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "needs role operator") {
		t.Fatalf("SubmitRun as read-only: %v, want PermissionDenied naming operator", err)
	}
	if _, err := ro.ListRuns(ctx, &pb.ListRunsRequest{}); err != nil {
		t.Fatalf("ListRuns as read-only: %v", err)
	}

	op := rpc.NewRunServiceClient(dialAs(t, dir, mtls.FileOperator, c.GRPCAddr(), mtls.RoleCoordinator))
	resp, err := op.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	if err != nil {
		t.Fatalf("SubmitRun as operator: %v", err)
	}
	if _, err := ro.CancelRun(ctx, &pb.CancelRunRequest{RunId: resp.GetRunId()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("CancelRun as read-only: %v, want PermissionDenied", err)
	}
	if _, err := op.CancelRun(ctx, &pb.CancelRunRequest{RunId: resp.GetRunId()}); err != nil {
		t.Fatalf("CancelRun as operator: %v", err)
	}
	// A worker's certificate is no coordinator: a client that wants one refuses it.
	if _, err := rpc.NewRunServiceClient(dialAs(t, dir, mtls.FileOperator, c.GRPCAddr(), mtls.RoleWorker)).ListRuns(ctx, &pb.ListRunsRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("dialling the coordinator as if it were a worker: %v, want Unavailable (handshake refused)", err)
	}
}

// TestDispatchOverMutualTLS: a coordinator and a worker with the cluster's
// certificates complete a run; the worker refuses Evaluate to a caller
// without a certificate (Unauthenticated) and to an operator
// (PermissionDenied): only the coordinator's identity may use it.
func TestDispatchOverMutualTLS(t *testing.T) {
	dir := certDir(t)
	c := startCoordinatorWith(t, startEtcd(t), nil, func(cfg *coordinator.Config) { cfg.TLS = identity(t, dir, mtls.FileCoordinator) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wcfg := worker.DefaultConfig()
	wcfg.Join = []string{c.GossipAddr()}
	wcfg.Capacity = 2
	wcfg.TLS = identity(t, dir, mtls.FileWorker)
	w, err := worker.Start(ctx, wcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })

	id, err := c.Submit(ctx, smallSpec())
	if err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, ctx, c, id); run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("run over mutual TLS: %v %s", run.GetState(), run.GetError())
	}

	for _, tc := range []struct {
		name string
		want codes.Code
	}{{"", codes.Unauthenticated}, {mtls.FileOperator, codes.PermissionDenied}} {
		ev := rpc.NewEvaluatorServiceClient(dialAs(t, dir, tc.name, w.Addr(), mtls.RoleWorker))
		if _, err := ev.Evaluate(ctx, &pb.EvaluateRequest{}); status.Code(err) != tc.want {
			t.Errorf("Evaluate as %q: %v, want %v", tc.name, err, tc.want)
		}
	}
}

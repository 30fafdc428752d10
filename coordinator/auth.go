package coordinator

import (
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/mesaopt/mesaopt/internal/mtls"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// Policy is the role each method of a coordinator needs when it serves
// with TLS (Config.TLS): operator for what starts, stops or computes,
// read-only for what reads; health checks are open. A method missing here
// is refused to everyone, so a new RPC must be added deliberately.
var Policy = mtls.Policy{
	rpc.RunService_SubmitRun_FullMethodName:       mtls.RoleOperator,
	rpc.RunService_CancelRun_FullMethodName:       mtls.RoleOperator,
	rpc.RunService_ResumeRun_FullMethodName:       mtls.RoleOperator,
	rpc.RunService_ForkRun_FullMethodName:         mtls.RoleOperator,
	rpc.RunService_EvaluateGenomes_FullMethodName: mtls.RoleOperator,
	rpc.RunService_SubmitSweep_FullMethodName:     mtls.RoleOperator,
	rpc.RunService_CancelSweep_FullMethodName:     mtls.RoleOperator,
	rpc.RunService_ResumeSweep_FullMethodName:     mtls.RoleOperator,

	rpc.RunService_GetRun_FullMethodName:     mtls.RoleReadOnly,
	rpc.RunService_ListRuns_FullMethodName:   mtls.RoleReadOnly,
	rpc.RunService_WatchRun_FullMethodName:   mtls.RoleReadOnly,
	rpc.RunService_GetSweep_FullMethodName:   mtls.RoleReadOnly,
	rpc.RunService_ListSweeps_FullMethodName: mtls.RoleReadOnly,
	rpc.RunService_WatchSweep_FullMethodName: mtls.RoleReadOnly,

	rpc.RunService_ListWorkers_FullMethodName: mtls.RoleReadOnly,

	rpc.LineageService_GetIndividual_FullMethodName:      mtls.RoleReadOnly,
	rpc.LineageService_GetLineOfDescent_FullMethodName:   mtls.RoleReadOnly,
	rpc.LineageService_ListFlagged_FullMethodName:        mtls.RoleReadOnly,
	rpc.LineageService_GetDriftOrigin_FullMethodName:     mtls.RoleReadOnly,
	rpc.LineageService_GetDescendants_FullMethodName:     mtls.RoleReadOnly,
	rpc.LineageService_GetMRCA_FullMethodName:            mtls.RoleReadOnly,
	rpc.LineageService_GetGenerationStats_FullMethodName: mtls.RoleReadOnly,
	rpc.LineageService_WatchGenerations_FullMethodName:   mtls.RoleReadOnly,
	rpc.LineageService_GetSensitivity_FullMethodName:     mtls.RoleReadOnly,
	rpc.LineageService_ExportPhylogeny_FullMethodName:    mtls.RoleReadOnly,

	healthpb.Health_Check_FullMethodName: mtls.RoleAnyone,
	healthpb.Health_Watch_FullMethodName: mtls.RoleAnyone,
	healthpb.Health_List_FullMethodName:  mtls.RoleAnyone,

	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      mtls.RoleReadOnly,
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: mtls.RoleReadOnly,
}

// Package grpcconf provides the gRPC settings every mesaopt process shares:
// the server options workers and coordinators serve with and the dial
// options of every client (coordinator to worker, mesactl to coordinator),
// so both ends of a connection agree on keepalives and message limits.
package grpcconf

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// MaxMessageBytes is the largest gRPC message either side sends or
// accepts: 64 MiB, room for a batch of large genomes; a dispatcher splits
// batches that would exceed it.
const MaxMessageBytes = 64 << 20

// ServerOptions are the options workers and coordinators serve with:
// keepalive enforcement that accepts the clients' pings, and the message
// limit.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
	}
}

// ClientOptions are the dial options toward workers and coordinators:
// keepalive pings every 10 s so a half-open connection is noticed within
// seconds (the servers permit pings every 5 s), and the message limit.
func ClientOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
	}
}

package mtls

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Policy maps full gRPC method names ("/mesaopt.v1.RunService/SubmitRun")
// to the role a caller needs. A method not in the table is refused to
// everyone. It is read-only once serving and safe for concurrent use.
type Policy map[string]Role

// Authorize returns nil if the caller of method in ctx may call it; else
// Unauthenticated (no verified client certificate) or PermissionDenied
// (the certificate lacks the role), each message naming what is needed.
func (p Policy) Authorize(ctx context.Context, method string) error {
	need, ok := p[method]
	if !ok {
		return status.Errorf(codes.PermissionDenied, "%s is not open to any role", method)
	}
	if need == RoleAnyone {
		return nil
	}
	pr, _ := peer.FromContext(ctx)
	var info credentials.TLSInfo
	if pr != nil {
		info, _ = pr.AuthInfo.(credentials.TLSInfo)
	}
	if len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return status.Errorf(codes.Unauthenticated, "%s needs a client certificate with role %s signed by the cluster CA (mesactl --tls-cert, --tls-key, --tls-ca)", method, need)
	}
	leaf := info.State.VerifiedChains[0][0]
	if have := RolesOf(leaf); !grants(have, need) {
		return status.Errorf(codes.PermissionDenied, "%s needs role %s; certificate %q has %s", method, need, leaf.Subject.CommonName, roleList(have))
	}
	return nil
}

// Unary is the unary server interceptor enforcing p.
func (p Policy) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := p.Authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the stream server interceptor enforcing p.
func (p Policy) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := p.Authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// ServerOptions are the options of a server with identity id enforcing p:
// TLS credentials and both interceptors.
func (p Policy) ServerOptions(id *Identity) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(id.ServerTLS())),
		grpc.ChainUnaryInterceptor(p.Unary),
		grpc.ChainStreamInterceptor(p.Stream),
	}
}

func roleList(rs []Role) string {
	if len(rs) == 0 {
		return "no role"
	}
	return fmt.Sprintf("roles %v", rs)
}

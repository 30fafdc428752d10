// Package mtls provides mesaopt's mutual TLS: the identities of the
// cluster's processes, the TLS configurations both ends of a gRPC
// connection use, the roles a certificate carries, the gRPC interceptors
// that enforce them, and a small certificate authority for a quick start.
//
// Every certificate of a cluster is signed by one CA (the bundle given as
// --tls-ca may hold several during a rotation). A certificate says what its
// holder may do through a URI subject alternative name
// "mesaopt://role/<role>" (RoleURI); a certificate may carry several.
// The roles:
//
//	coordinator  serves RunService and LineageService; calls the workers' EvaluatorService
//	worker       serves EvaluatorService
//	operator     calls everything on a coordinator: submit, cancel, resume, fork, evaluate, sweeps
//	read-only    calls what only reads on a coordinator: get, list, watch, lineage, stats, export
//
// Lifecycle:
//
//	id, err := mtls.Load(certFile, keyFile, caFile)   // PEM files; the key must match the certificate
//	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(id.ServerTLS())),
//		grpc.ChainUnaryInterceptor(policy.Unary), grpc.ChainStreamInterceptor(policy.Stream))
//	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(id.ClientCredentials(mtls.RoleCoordinator)))
//
// A server asks for a client certificate but completes the handshake
// without one, so that a caller without a certificate gets a gRPC
// Unauthenticated error naming the flags instead of a broken connection;
// health checks need no certificate. A caller whose certificate lacks the
// role a method needs gets PermissionDenied naming that role.
package mtls

package main

// The client plumbing every command shares: flags common to all, the
// connection to the leader, deadlines, output formats, errors and exit codes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

type client struct {
	addr    string // --coordinator: one address or several, comma-separated
	using   string // the address connect chose
	etcd    string
	etcdTLS transport.TLSInfo
	// TLS toward the coordinator (see tlsCredentials).
	tlsCert, tlsKey, tlsCA string
	insecure               bool
	creds                  credentials.TransportCredentials
	output                 string
	timeout                time.Duration
	conn                   *grpc.ClientConn
	runs                   rpc.RunServiceClient
	lineage                rpc.LineageServiceClient
	checks                 map[*cobra.Command]func(args []string) error
}

// check registers f to vet cmd's flags and arguments before mesactl
// connects, so that a usage mistake exits 2 with its own message even
// when no coordinator answers. It returns cmd.
func (c *client) check(cmd *cobra.Command, f func(args []string) error) *cobra.Command {
	if c.checks == nil {
		c.checks = map[*cobra.Command]func([]string) error{}
	}
	c.checks[cmd] = f
	return cmd
}

// prepare vets the global flags and cmd's own (see check), then connects,
// unless cmd needs no coordinator (see offline).
func (c *client) prepare(cmd *cobra.Command, args []string) error {
	if isCompletion(cmd) {
		return nil // its own flags and output; completions dial themselves (see completeIDs)
	}
	if err := checkOutput(cmd, c.output); err != nil {
		return err
	}
	if isOffline(cmd) {
		return nil
	}
	if c.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %v, allowed a positive duration", c.timeout)}
	}
	if err := c.checkAddresses(cmd); err != nil {
		return err
	}
	if err := c.tlsCredentials(cmd.ErrOrStderr()); err != nil {
		return err
	}
	if f := c.checks[cmd]; f != nil {
		if err := f(args); err != nil {
			return err
		}
	}
	return c.connect(cmd.Context())
}

// checkAddresses refuses a malformed --coordinator or --etcd before
// anything is dialled: a typo then exits 2 at once instead of waiting out
// the timeout.
func (c *client) checkAddresses(cmd *cobra.Command) error {
	if f := cmd.Flags().Lookup("etcd"); f != nil && f.Changed && strings.TrimSpace(c.etcd) == "" {
		return usageError{fmt.Errorf("--etcd is empty, allowed host:port[,host:port...] of etcd (or leave it out and use --coordinator)")}
	}
	if c.etcd != "" {
		for _, ep := range strings.Split(c.etcd, ",") {
			if err := hostPort(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(ep), "http://"), "https://")); err != nil {
				return usageError{fmt.Errorf("--etcd %q: %v, allowed host:port[,host:port...] (http:// or https:// in front is fine)", c.etcd, err)}
			}
		}
		return nil
	}
	addrs := splitAddrs(c.addr)
	if len(addrs) == 0 {
		return usageError{fmt.Errorf("--coordinator %q is empty, allowed host:port[,host:port...] of coordinators' gRPC addresses (env MESAOPT_COORDINATOR)", c.addr)}
	}
	for _, a := range addrs {
		if err := hostPort(a); err != nil {
			return usageError{fmt.Errorf("--coordinator %q: %v, allowed host:port[,host:port...] of coordinators' gRPC addresses (env MESAOPT_COORDINATOR)", c.addr, err)}
		}
	}
	return nil
}

// hostPort checks addr is host:port with a host and a port in 1..65535.
func hostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("no host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q is not 1..65535", port)
	}
	return nil
}

// reconnect closes the connection and connects again (connect), retrying
// every second for up to within: a failover leaves a moment with no
// coordinator that answers.
func (c *client) reconnect(ctx context.Context, within time.Duration) error {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	deadline := time.Now().Add(within)
	for {
		err := c.connect(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// connect dials the coordinator and checks it answers within the timeout,
// so a wrong address fails fast with a clear message. With several
// addresses (--coordinator a,b: the published ports of a leader and its
// standbys) it probes them at once and uses the one that serves (only the
// leader does: a standby answers NOT_SERVING), else the first that
// answers, whose calls then say which coordinator leads.
func (c *client) connect(ctx context.Context) error {
	addrs := splitAddrs(c.addr)
	if c.etcd != "" {
		addr, err := leaderFromEtcd(ctx, c.etcd, c.etcdTLS, c.timeout)
		if err != nil {
			return err
		}
		addrs = []string{addr}
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan probe, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- c.probe(pctx, i, a)
		}()
	}
	go func() { wg.Wait(); close(results) }()
	all := make([]probe, len(addrs))
	chosen := -1
	for p := range results {
		all[p.index] = p
		if p.err == nil && p.serving && chosen < 0 {
			chosen = p.index
			cancel() // the others need not answer any more
		}
	}
	if chosen < 0 {
		for i, p := range all {
			if p.err == nil {
				chosen = i
				break
			}
		}
	}
	for i, p := range all {
		if i != chosen && p.conn != nil {
			p.conn.Close()
		}
	}
	if chosen < 0 {
		errs := make([]error, len(all))
		for i, p := range all {
			errs[i] = p.err
		}
		return errors.Join(errs...) // one line per address
	}
	c.using = addrs[chosen]
	c.conn = all[chosen].conn
	c.runs = rpc.NewRunServiceClient(c.conn)
	c.lineage = rpc.NewLineageServiceClient(c.conn)
	return nil
}

// probe is the answer of one coordinator address to a health check.
type probe struct {
	index   int
	conn    *grpc.ClientConn
	serving bool
	err     error
}

// probe dials addr and checks its health within the timeout.
//
// The check does not wait for the connection to become ready: its first
// attempt decides. A refused connection (nothing listens there, no such
// host, a failed TLS handshake) therefore fails the check at once, while a
// coordinator that accepted the connection but is slow to answer still
// gets the whole timeout, as does an address that does not answer at all.
func (c *client) probe(ctx context.Context, index int, addr string) probe {
	conn, err := grpc.NewClient(addr, append(grpcconf.ClientOptions(), grpc.WithTransportCredentials(c.creds))...)
	if err != nil {
		return probe{index: index, err: fmt.Errorf("coordinator address %q: %w", addr, err)}
	}
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		conn.Close()
		msg := status.Convert(err).Message()
		hint := "is it running? set --coordinator"
		if c.etcd != "" {
			hint = "the leader recorded in etcd " + c.etcd + " does not answer; is a coordinator running?"
		}
		if strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") ||
			strings.Contains(msg, "authentication handshake") || strings.Contains(msg, "server preface") {
			hint = "something answers but the TLS handshake failed: check --tls-ca is the cluster's CA and the certificate is a client one signed by it, or --insecure against a TLS coordinator"
		}
		if status.Code(err) == codes.Unavailable {
			// Refused, unresolvable or a failed handshake: said at once.
			return probe{index: index, err: fmt.Errorf("no coordinator at %s (%s): %v", addr, hint, msg)}
		}
		return probe{index: index, err: fmt.Errorf("no coordinator answering at %s within %v (%s): %v", addr, c.timeout, hint, msg)}
	}
	return probe{index: index, conn: conn, serving: resp.GetStatus() == healthpb.HealthCheckResponse_SERVING}
}

// splitAddrs splits a comma-separated --coordinator, dropping empty items.
func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (c *client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// jsonOptions is how every -o json document is written: proto field
// names, and every field, zeros included (generation 0, a zero count), so
// that a reader finds each field of the message in each object.
var jsonOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// document reports whether -o asks for a document (json or yaml) rather
// than a table.
func (c *client) document() bool { return c.output == "json" || c.output == "yaml" }

// json writes m as one indented JSON document, or with -o yaml the same
// document as YAML (same field names and order).
func (c *client) json(w io.Writer, m proto.Message) error {
	opts := jsonOptions
	opts.Multiline, opts.Indent = true, "  "
	b, err := opts.Marshal(m)
	if err != nil {
		return err
	}
	return c.write(w, b)
}

// write writes the JSON document b as -o asks: as it is, or as YAML.
func (c *client) write(w io.Writer, b []byte) error {
	if c.output == "yaml" {
		y, err := jsonToYAML(b)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	_, err := fmt.Fprintln(w, string(b))
	return err
}

// jsonToYAML rewrites a JSON document as block-style YAML, keeping the
// order of its keys.
func jsonToYAML(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var plain func(n *yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0 // block collections, strings quoted only where YAML needs it
		for _, k := range n.Content {
			plain(k)
		}
	}
	plain(&doc)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// jsonLine writes m as JSON on one line, for streams read line by line.
func jsonLine(w io.Writer, m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// outputsKey is the cobra annotation naming the -o values a command
// accepts, comma-separated (see withOutputs).
const outputsKey = "mesactl.outputs"

// withOutputs sets the -o values cmd accepts, table first, and returns
// cmd; a command without it accepts table and json.
func withOutputs(cmd *cobra.Command, outputs ...string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[outputsKey] = strings.Join(outputs, ",")
	return cmd
}

// outputs returns the -o values cmd accepts.
func outputs(cmd *cobra.Command) []string {
	v, ok := cmd.Annotations[outputsKey]
	if !ok {
		return []string{"table", "json", "yaml"}
	}
	return strings.Split(v, ",")
}

// checkOutput refuses an -o value cmd has no output for, naming the
// values it has.
func checkOutput(cmd *cobra.Command, output string) error {
	allowed := outputs(cmd)
	if slices.Contains(allowed, output) {
		return nil
	}
	if len(allowed) == 1 {
		return usageError{fmt.Errorf("-o %q: %s takes no -o, %s", output, cmd.CommandPath(), cmd.Annotations[hintKey])}
	}
	msg := fmt.Sprintf("-o %q, allowed %s", output, orList(allowed))
	if output == "csv" {
		msg = fmt.Sprintf("-o %q: %s has no CSV output (mesactl stats has), allowed %s", output, cmd.CommandPath(), orList(allowed))
	}
	return usageError{errors.New(msg)}
}

// offlineKey is the cobra annotation of a command that needs no
// coordinator (see offline).
const offlineKey = "mesactl.offline"

// offline marks cmd as needing no coordinator: mesactl does not dial
// before it runs (version, completion). It returns cmd.
func offline(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[offlineKey] = "true"
	return cmd
}

// isOffline reports whether cmd or a command above it is marked offline.
func isOffline(cmd *cobra.Command) bool {
	for ; cmd != nil; cmd = cmd.Parent() {
		if cmd.Annotations[offlineKey] != "" {
			return true
		}
	}
	return false
}

// isCompletion reports whether cmd is cobra's hidden command that answers
// a shell's request for completions (mesactl __complete …).
func isCompletion(cmd *cobra.Command) bool {
	return cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd
}

// hintKey is the cobra annotation saying how a command that takes no -o
// chooses its output (see withoutOutputs).
const hintKey = "mesactl.outputs.hint"

// withoutOutputs marks cmd as taking no -o (beyond the default), hint
// saying how its output is chosen instead, and returns cmd.
func withoutOutputs(cmd *cobra.Command, hint string) *cobra.Command {
	withOutputs(cmd, "table")
	cmd.Annotations[hintKey] = hint
	return cmd
}

// orList joins "a", "b", "c" as "a, b or c".
func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// leaderFromEtcd reads the leading coordinator's gRPC address from etcd.
func leaderFromEtcd(ctx context.Context, endpoints string, tlsInfo transport.TLSInfo, timeout time.Duration) (string, error) {
	cfg := clientv3.Config{Endpoints: strings.Split(endpoints, ","), DialTimeout: timeout, Logger: zap.NewNop()}
	if !tlsInfo.Empty() || tlsInfo.TrustedCAFile != "" {
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			return "", usageError{fmt.Errorf("--etcd-cacert/--etcd-cert/--etcd-key: %w", err)}
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return "", fmt.Errorf("etcd %s: %w", endpoints, err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := coordinator.LeaderAddress(ctx, cli, "")
	if err != nil {
		return "", fmt.Errorf("finding the leader through etcd %s: %w", endpoints, err)
	}
	return v.GRPC, nil
}

// usageError is a mistake in how mesactl was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func (e usageError) Unwrap() error { return e.err }

// isUsage recognises cobra's own argument and flag errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"accepts ", "requires at least", "unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// describe turns a gRPC status into "code: message".
func describe(err error) string {
	if s, ok := status.FromError(err); ok && s.Code() != codes.OK && s.Code() != codes.Unknown {
		return fmt.Sprintf("%s: %s", s.Code(), s.Message())
	}
	return err.Error()
}

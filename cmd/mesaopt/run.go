package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/localetcd"
	"github.com/mesaopt/mesaopt/internal/mtls"
	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

func nopZap() *zap.Logger { return zap.NewNop() }

type runOptions struct {
	file       string
	resume     string
	workers    int
	profileDir string
	dataDir    string
	etcdClient string
	etcdPeer   string
	listen     string
	httpListen string
	log        logFlags
	keep       bool
	resumeCmd  string // how to resume, with this invocation's flags
	sets       []string
	seeds      string
	seedsGiven bool
	quick      bool
	sessionTTL int
	insecure   bool
	metrics    metricsFlags // the coordinator's
	out        io.Writer
}

// tlsDir is where `mesaopt run` keeps its certificates: made on the
// first run, reused on resume (mtls.EnsureDir).
func (o runOptions) tlsDir() string { return filepath.Join(o.dataDir, "tls") }

// mesactlTLS is what mesactl needs to talk to this run's coordinator as
// an operator ("--insecure" for a plaintext run).
func (o runOptions) mesactlTLS() string {
	if o.insecure {
		return "--insecure"
	}
	return tlsArgs(o.tlsDir(), mtls.FileOperator)
}

// dashboardHint says what a browser needs for the dashboard of a TLS run.
func (o runOptions) dashboardHint(url string) string {
	if o.insecure {
		return ""
	}
	return fmt.Sprintf("; a browser needs the client certificate %s (README, \"Dashboard\"), or: curl --cacert %s --cert %s --key %s %s",
		mtls.CertFile(o.tlsDir(), mtls.FileReadOnly), mtls.CertFile(o.tlsDir(), mtls.FileCA), mtls.CertFile(o.tlsDir(), mtls.FileReadOnly), mtls.KeyFile(o.tlsDir(), mtls.FileReadOnly), url)
}

func runCmd() *cobra.Command {
	o := runOptions{out: os.Stdout}
	cmd := &cobra.Command{
		Use:   "run [-f experiment.yaml | --resume RUN_ID]",
		Short: "Run an experiment on this machine: embedded etcd, a coordinator and worker processes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("resume") && o.resume == "" {
				return exitError{code: 2, err: fmt.Errorf("--resume is empty, allowed a run id (see mesactl runs)")}
			}
			o.seedsGiven = cmd.Flags().Changed("seeds")
			if o.resume != "" && (o.seedsGiven || o.quick) {
				return exitError{code: 2, err: fmt.Errorf("--resume %s with --seeds %q or --quick: those start a new sweep, allowed --resume alone (a resumed sweep keeps its own runs)", o.resume, o.seeds)}
			}
			if o.resume != "" && o.file != "" {
				return exitError{code: 2, err: fmt.Errorf("--resume and -f both given: a resumed run keeps its own experiment")}
			}
			if err := o.check(); err != nil {
				return err
			}
			o.resumeCmd = resumeCommand(cmd)
			return runLocal(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "file", "f", "", "experiment file (default: the built-in door-maze experiment)")
	f.StringVar(&o.resume, "resume", "", "continue RUN_ID from its last checkpoint instead of starting a new run")
	f.StringArrayVar(&o.sets, "set", nil, "a new run: set a field, or sweep it over values: --set selection.shifted=0,0.02,0.1 (repeatable); with --resume: change a field that is safe to change, e.g. --set generations=60")
	f.StringVar(&o.seeds, "seeds", "", "run a sweep over these seeds: 1-10, 1-3,7 (replaces the file's sweep seeds)")
	f.BoolVar(&o.quick, "quick", false, "run the sweep's quick variant (its quick: section; without one its first 2 seeds and a third of the generations)")
	f.IntVar(&o.workers, "workers", runtime.NumCPU(), "worker processes to start; each gets capacity NumCPU / workers (at least 1): genomes evaluated in parallel")
	f.StringVar(&o.dataDir, "data", "mesaopt-data", "directory of the embedded etcd's data")
	f.StringVar(&o.etcdClient, "etcd-client", "127.0.0.1:23790", "embedded etcd client address")
	f.StringVar(&o.etcdPeer, "etcd-peer", "127.0.0.1:23800", "embedded etcd peer address")
	f.StringVar(&o.listen, "listen", "127.0.0.1:7070", "coordinator gRPC address (RunService, LineageService; mesactl's default)")
	f.StringVar(&o.httpListen, "http-listen", "127.0.0.1:7080", "web dashboard address (HTTPS with the certificates in DATA/tls, each page needing the read-only or operator client certificate; plain HTTP with --insecure); \"\" for none")
	f.BoolVar(&o.keep, "keep-serving", false, "after the run, keep serving RunService and LineageService until Ctrl-C")
	f.IntVar(&o.sessionTTL, "session-ttl", 10, "etcd session TTL in seconds; a resume after kill -9 waits up to this long for the old leadership to expire")
	o.log.register(f)
	o.metrics.register(f)
	f.BoolVar(&o.insecure, "insecure", false, "plaintext gRPC with no authentication between the coordinator, the workers and clients (default: mutual TLS with certificates made in DATA/tls)")
	f.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles (go tool pprof) of the coordinator (coordinator.prof) and of each worker (worker-N.prof) to this directory")
	return cmd
}

// check vets the flags before anything starts.
func (o runOptions) check() error {
	if o.workers < 1 || o.workers > 256 {
		return usagef("--workers = %d, allowed 1..256", o.workers)
	}
	if o.dataDir == "" {
		return usagef("--data is empty, allowed a directory for the embedded etcd's data")
	}
	for _, a := range []struct {
		flag, v string
		anyPort bool
	}{{"etcd-client", o.etcdClient, false}, {"etcd-peer", o.etcdPeer, false}, {"listen", o.listen, true}} {
		if err := checkAddr(a.flag, a.v, a.anyPort); err != nil {
			return err
		}
	}
	if o.httpListen != "" {
		if err := checkAddr("http-listen", o.httpListen, true); err != nil {
			return err
		}
	}
	if o.etcdClient == o.etcdPeer {
		return usagef("--etcd-client and --etcd-peer are both %s, allowed two different addresses", o.etcdClient)
	}
	if err := o.metrics.check(); err != nil {
		return err
	}
	return checkSessionTTL(o.sessionTTL)
}

func runLocal(ctx context.Context, o runOptions) error {
	var spec experiment.Spec
	if o.resume == "" {
		var err error
		if o.file != "" {
			spec, err = experiment.Load(o.file)
		} else {
			spec = experiment.Default()
			err = spec.Validate()
		}
		if err == nil {
			spec, err = experiment.WithSweepFlags(spec, experiment.SweepFlags{Seeds: o.seeds, SeedsGiven: o.seedsGiven, Sets: o.sets, Quick: o.quick})
		}
		if err != nil {
			return exitError{code: 2, err: err}
		}
		for _, w := range spec.Warnings() {
			fmt.Fprintln(os.Stderr, "mesaopt: warning:", w)
		}
	}
	log, err := o.log.logger()
	if err != nil {
		return err
	}
	if o.profileDir != "" {
		stop, err := startCPUProfile(filepath.Join(o.profileDir, "coordinator.prof"))
		if err != nil {
			return exitError{code: 2, err: fmt.Errorf("--profile-dir = %q: %w", o.profileDir, err)}
		}
		defer stop()
	}

	// The run's id once known, for the resume hint of a fatal etcd error.
	var runID atomic.Pointer[string]
	runID.Store(&o.resume)
	etcd, err := localetcd.Start(localetcd.Config{Dir: filepath.Join(o.dataDir, "etcd"), ClientAddr: o.etcdClient, PeerAddr: o.etcdPeer,
		Fatal: func(err error) {
			// etcd stops here and the process exits 1; what is committed is
			// on disk, and the data directory is resumable.
			fmt.Fprintf(os.Stderr, "mesaopt: %v\n%s\n", err, o.recovery(err, *runID.Load()))
		}})
	if err != nil {
		if errors.Is(err, localetcd.ErrNoSpace) {
			return fmt.Errorf("%w\n%s", err, o.recovery(err, o.resume))
		}
		return err
	}
	defer etcd.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: nopZap(),
		MaxCallSendMsgSize: localetcd.DefaultMaxRequestBytes + 1<<20})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close()

	keyText, keys, err := runGossipKey(o.dataDir)
	if err != nil {
		return err
	}
	cfg := coordinator.DefaultConfig()
	// Mutual TLS on loopback too: certificates made once in the data
	// directory, so that another local user cannot submit, cancel or
	// pose as a worker.
	var workerTLS []string
	dial := grpcconf.ClientOptions()
	if o.insecure {
		fmt.Fprintln(os.Stderr, "mesaopt: warning: --insecure: gRPC is plaintext and unauthenticated; anyone who reaches the coordinator or a worker can use it")
		workerTLS = []string{"--insecure"}
	} else {
		if err := mtls.EnsureDir(o.tlsDir()); err != nil {
			return fmt.Errorf("certificates in %s: %w", o.tlsDir(), err)
		}
		if cfg.TLS, err = mtls.LoadFrom(o.tlsDir(), mtls.FileCoordinator); err != nil {
			return err
		}
		operator, err := mtls.LoadFrom(o.tlsDir(), mtls.FileOperator)
		if err != nil {
			return err
		}
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(operator.ClientTLS(mtls.RoleCoordinator, false))))
		workerTLS = strings.Fields(tlsArgs(o.tlsDir(), mtls.FileWorker))
	}
	cfg.Etcd = cli
	cfg.GRPCListen = o.listen
	cfg.HTTPListen = o.httpListen
	cfg.Gossip.Keys = keys
	cfg.Logger = log
	cfg.SessionTTL = o.sessionTTL
	stopMetrics, err := o.metrics.coordinator(o.log, &cfg)
	if err != nil {
		return err
	}
	defer stopSoon(stopMetrics)
	c, err := coordinator.New(cfg)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Shutdown(sctx)
		_ = stopMetrics(sctx)
	}
	fmt.Fprintf(o.out, "etcd %v (data in %s), coordinator gRPC %s, gossip %s\n", etcd.Endpoints(), o.dataDir, c.GRPCAddr(), c.GossipAddr())
	if !o.insecure {
		fmt.Fprintf(o.out, "mutual TLS with the certificates in %s; mesactl as operator: %s --coordinator %s %s runs\n", o.tlsDir(), mesactlPath(), c.GRPCAddr(), o.mesactlTLS())
	}
	if u := c.DashboardURL(); u != "" {
		until := " (until the run ends; --keep-serving keeps it up)"
		if o.keep {
			until = ""
		}
		fmt.Fprintf(o.out, "dashboard %s%s%s\n", u, until, o.dashboardHint(u))
	}

	workers, err := startWorkers(ctx, o.workers, c.GossipAddr(), keyText, o.log, o.profileDir, workerTLS)
	if err != nil {
		shutdown()
		return err
	}
	// Deferred calls run last-first: the coordinator stops (and records an
	// interrupted run as resumable) before its workers are stopped.
	defer workers.stop()
	defer shutdown()

	// Talk to the coordinator over gRPC, as mesactl would.
	conn, err := grpc.NewClient(c.GRPCAddr(), dial...)
	if err != nil {
		return err
	}
	defer conn.Close()
	runs := rpc.NewRunServiceClient(conn)
	if spec.Sweep != nil || (o.resume != "" && isSweep(ctx, runs, o.resume)) {
		return runSweep(ctx, o, runs, spec, workerCount(o.workers), runID.Store)
	}
	id := o.resume
	if id == "" {
		resp, err := runs.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
		if err != nil {
			return err
		}
		id = resp.GetRunId()
		runID.Store(&id)
		fmt.Fprintf(o.out, "run %s: %d generations of %d, seed %d, %s\n", id, spec.Generations, spec.Population, spec.Seed, workerCount(o.workers))
	} else {
		if _, err := runs.ResumeRun(ctx, &pb.ResumeRunRequest{RunId: id, Set: o.sets}); err != nil {
			code := status.Code(err)
			err = fmt.Errorf("resume %s: %s", id, status.Convert(err).Message())
			if code == codes.InvalidArgument || code == codes.FailedPrecondition || code == codes.NotFound {
				return exitError{code: 2, err: err}
			}
			return err
		}
		fmt.Fprintf(o.out, "run %s: resumed from its last checkpoint, %s\n", id, workerCount(o.workers))
	}
	got, err := runs.GetRun(ctx, &pb.GetRunRequest{RunId: id})
	if err != nil {
		return err
	}
	generations := got.GetRun().GetSpec().GetGenerations()
	stream, err := runs.WatchRun(ctx, &pb.WatchRunRequest{RunId: id, FromGeneration: got.GetRun().GetGenerationsDone()})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(o.out, "\ninterrupted; continue with: %s --resume %s\n", o.resumeCmd, id)
				return exitError{code: 130, err: errors.New("interrupted")}
			}
			return err
		}
		if s := msg.GetSummary(); s != nil {
			fmt.Fprintln(o.out, render.Progress(s, generations))
		}
	}
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	final, err := runs.GetRun(rctx, &pb.GetRunRequest{RunId: id})
	if err != nil {
		return err
	}
	render.Report(o.out, final.GetRun(), fitness.BaseObjectiveFor(final.GetRun().GetFeatureNames()))
	if final.GetRun().GetState() == pb.RunState_RUN_STATE_FAILED {
		return fmt.Errorf("run %s failed: %s", id, final.GetRun().GetError())
	}
	if o.keep {
		fmt.Fprintf(o.out, "\nserving RunService and LineageService on %s until Ctrl-C (try: %s --coordinator %s %s flagged %s)\n", c.GRPCAddr(), mesactlPath(), c.GRPCAddr(), o.mesactlTLS(), id)
		<-ctx.Done()
	}
	return nil
}

// recovery tells what to do after etcd failed with err: free space (a full
// disk), then resume run id (or start again, before a run exists).
func (o runOptions) recovery(err error, id string) string {
	full := errors.Is(err, localetcd.ErrNoSpace)
	switch {
	case id != "" && full:
		return fmt.Sprintf("Nothing committed is lost: free space on the disk of %s and resume with: %s --resume %s", o.dataDir, o.resumeCmd, id)
	case id != "":
		return fmt.Sprintf("Nothing committed is lost: resume with: %s --resume %s", o.resumeCmd, id)
	case full:
		return fmt.Sprintf("Free space on the disk of %s, or give --data a directory on a larger disk, and start again", o.dataDir)
	}
	return "Start again once the cause is fixed"
}

// resumeCommand spells this invocation without -f and --resume, so the
// printed resume command reuses the same data directory and ports.
func resumeCommand(cmd *cobra.Command) string {
	parts := []string{"mesaopt run"}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "file", "resume", "keep-serving", "verbose", "log-format", "set", "seeds", "quick":
			return
		}
		if f.Value.Type() == "bool" {
			parts = append(parts, "--"+f.Name+"="+f.Value.String())
			return
		}
		parts = append(parts, "--"+f.Name+" "+f.Value.String())
	})
	return strings.Join(parts, " ")
}

// workerCount spells "1 worker process" or "n worker processes".
func workerCount(n int) string {
	if n == 1 {
		return "1 worker process"
	}
	return fmt.Sprintf("%d worker processes", n)
}

// workerProcs are the worker processes of `mesaopt run`.
type workerProcs struct {
	cmds []*exec.Cmd
	done []chan struct{}
}

// localCapacity is the capacity of each of n local worker processes: the
// machine's cores shared out among them, at least 1 (runtime.NumCPU / n,
// rounded down). A worker evaluates that many genomes of a batch in
// parallel and uses as many cores (see the worker command's --capacity),
// so the n workers together use every core once and none is oversubscribed.
func localCapacity(n int) int { return max(1, runtime.NumCPU()/max(1, n)) }

// startCPUProfile writes a CPU profile to path (its directory made if
// missing) until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// startWorkers starts n `mesaopt worker` processes that join gossip, each
// of capacity localCapacity(n). They exit with this process even on
// SIGKILL: the kernel signals them (Pdeathsig, Linux) and they watch their
// parent pid.
//
// They get the gossip key in their environment, not their arguments,
// which other users of the machine can read; extra are more arguments
// (the TLS files).
func startWorkers(ctx context.Context, n int, gossip, gossipKey string, lf logFlags, profileDir string, extra []string) (*workerProcs, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	w := &workerProcs{}
	capacity := strconv.Itoa(localCapacity(n))
	for i := range n {
		args := []string{"worker", "--join", gossip, "--capacity", capacity, "--parent-pid", strconv.Itoa(os.Getpid()),
			"--name", fmt.Sprintf("worker-%d-%d", os.Getpid(), i)}
		args = append(args, extra...)
		args = append(args, lf.args()...)
		if profileDir != "" {
			args = append(args, "--cpu-profile", filepath.Join(profileDir, fmt.Sprintf("worker-%d.prof", i)))
		}
		cmd := exec.Command(self, args...)
		cmd.Stdout = os.Stderr
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = childAttr()
		cmd.Env = append(childEnv(), worker.GossipKeyEnv+"="+gossipKey)
		if err := cmd.Start(); err != nil {
			w.stop()
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		w.cmds = append(w.cmds, cmd)
		w.done = append(w.done, done)
	}
	return w, nil
}

// stop sends SIGTERM to every worker, waits up to 10 s, then kills.
func (w *workerProcs) stop() {
	for _, c := range w.cmds {
		_ = c.Process.Signal(terminate)
	}
	deadline := time.After(10 * time.Second)
	for i, d := range w.done {
		select {
		case <-d:
		case <-deadline:
			_ = w.cmds[i].Process.Kill()
			<-d
		}
	}
}

// mesactlPath is how to call mesactl from the current directory in the
// commands mesaopt prints: the mesactl beside this binary when there is
// one (./bin/mesactl after make build), else mesactl on the PATH.
func mesactlPath() string { return besideSelf("mesactl") }

// besideSelf is how to call the program name that lies beside this
// binary, from the current directory ("./bin/name"), or name when there
// is none (or this binary is a test's).
func besideSelf(name string) string {
	self, err := os.Executable()
	if err != nil {
		return name
	}
	p := filepath.Join(filepath.Dir(self), name)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return name
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
	}
	return p
}

// childEnv is the environment of mesaopt run's workers: this process's
// without its MESAOPT_ variables, which a worker would read as flags
// (bindEnv) although they were meant for something else (mesactl's,
// another daemon's); every flag a worker needs is on its command line.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

package main

import (
	"context"
	"errors"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/mtls"
	"github.com/mesaopt/mesaopt/worker"
)

func workerCmd() *cobra.Command {
	cfg := worker.DefaultConfig()
	var join string
	var parentPID int
	lf := logFlags{info: true}
	var drain time.Duration
	var protocol uint
	var cpuProfile string
	var gossip gossipFlags
	var tf tlsFlags
	var mf metricsFlags
	cmd := bindEnv(&cobra.Command{
		Use:   "worker --join HOST:PORT (--tls-cert FILE --tls-key FILE --tls-ca FILE | --insecure)",
		Short: "Serve evaluations and join the gossip cluster of a coordinator",
		Long:  "Serve evaluations and join the gossip cluster of a coordinator." + "\n\n" + envHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Join = splitList(join)
			if err := checkWorkerFlags(cfg, drain); err != nil {
				return err
			}
			if err := mf.check(); err != nil {
				return err
			}
			// The workers of `mesaopt run` (--parent-pid) leave the warning to it.
			id, err := tf.identity(mtls.RoleWorker, parentPID > 0, lf.warn)
			if err != nil {
				return err
			}
			cfg.TLS = id
			cfg.Protocol = uint32(protocol)
			lf.info = parentPID == 0 // mesaopt run's workers log as the run does
			if cfg.Logger, err = lf.logger(); err != nil {
				return err
			}
			gossip.insecure = tf.insecure
			g, err := gossip.load(cfg.GossipBind, cfg.Logger)
			if err != nil {
				return err
			}
			cfg.Gossip = g
			// A worker uses as many cores as it evaluates genomes at once:
			// several worker processes on one machine then do not contend
			// for every core with their schedulers and collectors.
			if os.Getenv("GOMAXPROCS") == "" {
				runtime.GOMAXPROCS(max(1, min(cfg.Capacity, runtime.NumCPU())))
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return usagef("--cpu-profile = %q: %v", cpuProfile, err)
				}
				defer stop()
			}
			ctx := cmd.Context()
			if parentPID > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				go watchParent(ctx, parentPID, cancel)
			}
			stopMetrics, err := mf.worker(lf, &cfg)
			if err != nil {
				return err
			}
			err = worker.Run(ctx, cfg, drain)
			// Served through the drain, then stopped within as long.
			sctx, cancel := context.WithTimeout(context.Background(), max(drain, time.Second))
			defer cancel()
			merr := stopMetrics(sctx)
			if err != nil && ctx.Err() != nil {
				return merr // stopped while starting: nothing to report
			}
			return errors.Join(err, merr)
		},
	}, &lf)
	f := cmd.Flags()
	f.StringVar(&join, "join", "", "gossip address(es) of the cluster, comma-separated (the coordinator's --gossip)")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "gRPC address to serve Evaluator on")
	f.StringVar(&cfg.GossipBind, "gossip", cfg.GossipBind, "gossip address to bind")
	f.StringVar(&cfg.Name, "name", "", "unique gossip name (default: worker-HOST-PID-PORT)")
	f.StringVar(&cfg.Advertise, "advertise", "", "gRPC host:port coordinators dial (default: the --listen address); for a worker bound to 0.0.0.0")
	gossip.register(f)
	f.IntVar(&cfg.Capacity, "capacity", cfg.Capacity, "genomes evaluated in parallel; also the cores the worker uses (GOMAXPROCS, unless set in the environment)")
	f.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "give up joining after this long")
	f.DurationVar(&drain, "drain", 10*time.Second, "on SIGTERM, wait this long for in-flight evaluations")
	f.IntVar(&parentPID, "parent-pid", 0, "exit when this process is gone (set by mesaopt run)")
	lf.register(f)
	f.StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile (go tool pprof) of the worker's whole life to this file")
	f.UintVar(&protocol, "protocol-version", 0, "announce and accept this protocol version instead of the built-in one (tests of version mismatch)")
	tf.register(f, mtls.RoleWorker)
	mf.register(f)
	_ = f.MarkHidden("parent-pid")
	_ = f.MarkHidden("protocol-version")
	return cmd
}

// checkWorkerFlags vets the worker's flags before it starts.
func checkWorkerFlags(cfg worker.Config, drain time.Duration) error {
	switch {
	case cfg.Capacity < 1 || cfg.Capacity > 1024:
		return usagef("--capacity = %d, allowed 1..1024 genomes evaluated at once", cfg.Capacity)
	case len(cfg.Join) == 0:
		return usagef("--join is missing, allowed the gossip address(es) of the cluster, host:port[,host:port...] (the coordinator's --gossip)")
	case cfg.JoinTimeout <= 0:
		return usagef("--join-timeout = %v, allowed a positive duration", cfg.JoinTimeout)
	case drain < 0:
		return usagef("--drain = %v, allowed a duration ≥ 0", drain)
	}
	if err := checkAddrs("join", cfg.Join); err != nil {
		return err
	}
	if err := checkAddr("listen", cfg.Listen, true); err != nil {
		return err
	}
	if cfg.Advertise != "" {
		if err := checkAddr("advertise", cfg.Advertise, false); err != nil {
			return err
		}
	}
	return checkAddr("gossip", cfg.GossipBind, true)
}

// watchParent cancels when the parent process is gone: os.Getppid changes
// once the parent died and the worker was re-parented.
func watchParent(ctx context.Context, pid int, cancel context.CancelFunc) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != pid {
				cancel()
				return
			}
		}
	}
}

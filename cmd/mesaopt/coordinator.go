package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/mtls"
)

func coordinatorCmd() *cobra.Command {
	cfg := coordinator.DefaultConfig()
	var endpoints, join string
	var tlsInfo transport.TLSInfo
	var lf logFlags
	var gossip gossipFlags
	var tf tlsFlags
	var mf metricsFlags
	cmd := bindEnv(&cobra.Command{
		Use:   "coordinator --etcd ENDPOINTS (--tls-cert FILE --tls-key FILE --tls-ca FILE | --insecure)",
		Short: "Run the coordinator against an existing etcd cluster; workers join its gossip address",
		Long:  "Run the coordinator against an existing etcd cluster; workers join its gossip address." + "\n\n" + envHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger()
			if err != nil {
				return err
			}
			cfg.Logger = log
			cfg.ResumeOrphans = true
			cfg.Join = splitList(join)
			if err := checkCoordinatorFlags(cfg, splitList(endpoints), tlsInfo); err != nil {
				return err
			}
			if err := mf.check(); err != nil {
				return err
			}
			id, err := tf.identity(mtls.RoleCoordinator, false, lf.warn)
			if err != nil {
				return err
			}
			cfg.TLS = id
			gossip.insecure = tf.insecure
			g, err := gossip.load(cfg.GossipBind, cfg.Logger)
			if err != nil {
				return err
			}
			cfg.Gossip = g
			cli, err := dialEtcd(cmd.Context(), splitList(endpoints), tlsInfo)
			if err != nil {
				if cmd.Context().Err() != nil {
					return nil // stopped (SIGTERM, Ctrl-C) while reaching etcd
				}
				return err
			}
			defer cli.Close()
			cfg.Etcd = cli
			stopMetrics, err := mf.coordinator(lf, &cfg)
			if err != nil {
				return err
			}
			defer stopSoon(stopMetrics)
			c, err := coordinator.New(cfg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			lf.say(fmt.Sprintf("coordinator %s: campaigning for leadership in etcd %s (standby until the leader goes)", cfg.Name, endpoints),
				"campaigning for leadership (standby until the leader goes)", "coordinator", cfg.Name, "etcd", endpoints)
			if err := c.Start(ctx); err != nil {
				if ctx.Err() != nil {
					return nil // stopped (SIGTERM, Ctrl-C) while standing by: a normal stop
				}
				return err
			}
			lf.say(fmt.Sprintf("coordinator %s leading: gRPC %s, gossip %s%s", cfg.Name, c.GRPCAddr(), c.GossipAddr(), dashboardNote(c)),
				"leading", "coordinator", cfg.Name, "grpc", c.GRPCAddr(), "advertise", c.AdvertisedGRPC(), "gossip", c.GossipAddr(), "dashboard", c.DashboardURL())
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return errors.Join(c.Shutdown(sctx), stopMetrics(sctx))
		},
	}, &lf)
	f := cmd.Flags()
	f.StringVar(&endpoints, "etcd", "127.0.0.1:2379", "etcd endpoints, comma-separated")
	f.StringVar(&cfg.GRPCListen, "listen", "0.0.0.0:7070", "gRPC address for RunService and LineageService")
	f.StringVar(&cfg.GossipBind, "gossip", "0.0.0.0:7946", "gossip address workers join")
	f.StringVar(&cfg.HTTPListen, "http-listen", "", "serve the web dashboard on this host:port: HTTPS with the --tls-* certificates, each page needing a read-only or operator client certificate (plain HTTP with --insecure); default: no dashboard")
	f.StringVar(&cfg.Advertise, "advertise", "", "gRPC host:port clients and standbys dial, in the leader record (default: the --listen address); for a coordinator bound to 0.0.0.0")
	gossip.register(f)
	f.StringVar(&tlsInfo.TrustedCAFile, "etcd-cacert", "", "CA bundle that signed the etcd servers' certificates (enables TLS)")
	f.StringVar(&tlsInfo.CertFile, "etcd-cert", "", "client certificate for etcd (mutual TLS)")
	f.StringVar(&tlsInfo.KeyFile, "etcd-key", "", "client key for etcd (mutual TLS)")
	f.StringVar(&join, "join", "", "gossip address(es) of a running cluster to join (another coordinator or a worker), comma-separated: a standby then knows the workers when it takes over")
	f.StringVar(&cfg.Name, "name", cfg.Name, "unique coordinator name")
	f.IntVar(&cfg.SessionTTL, "session-ttl", cfg.SessionTTL, "etcd session TTL in seconds (leadership fence)")
	lf.register(f)
	addLimitFlags(f, &cfg.Limits)
	tf.register(f, mtls.RoleCoordinator)
	mf.register(f)
	return cmd
}

// checkCoordinatorFlags vets the coordinator's flags before it dials etcd.
func checkCoordinatorFlags(cfg coordinator.Config, endpoints []string, tlsInfo transport.TLSInfo) error {
	if err := checkLimitFlags(cfg.Limits); err != nil {
		return err
	}
	if err := checkSessionTTL(cfg.SessionTTL); err != nil {
		return err
	}
	if cfg.Name == "" {
		return usagef("--name is empty, allowed a name unique among the coordinators")
	}
	if err := checkAddr("listen", cfg.GRPCListen, true); err != nil {
		return err
	}
	if err := checkAddr("gossip", cfg.GossipBind, true); err != nil {
		return err
	}
	if cfg.HTTPListen != "" {
		if err := checkAddr("http-listen", cfg.HTTPListen, true); err != nil {
			return err
		}
	}
	if cfg.Advertise != "" {
		if err := checkAddr("advertise", cfg.Advertise, false); err != nil {
			return err
		}
	}
	if err := checkAddrs("join", cfg.Join); err != nil {
		return err
	}
	if len(endpoints) == 0 {
		return usagef("--etcd is empty, allowed host:port[,host:port...]")
	}
	if err := checkPEMFile("etcd-cacert", tlsInfo.TrustedCAFile); err != nil {
		return err
	}
	if err := checkPEMFile("etcd-cert", tlsInfo.CertFile); err != nil {
		return err
	}
	return checkPEMFile("etcd-key", tlsInfo.KeyFile)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dialEtcd connects to etcd and checks it answers within a few seconds.
func dialEtcd(ctx context.Context, endpoints []string, tlsInfo transport.TLSInfo) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, exitError{code: 2, err: fmt.Errorf("--etcd is empty, allowed host:port[,host:port...]")}
	}
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: nopZap()}
	if !tlsInfo.Empty() || tlsInfo.TrustedCAFile != "" {
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			return nil, exitError{code: 2, err: fmt.Errorf("etcd TLS: %w", err)}
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	// Any member that answers will do: one of three may be down.
	var errs []error
	for _, ep := range endpoints {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cli.Status(sctx, ep)
		cancel()
		if err == nil {
			return cli, nil
		}
		if ctx.Err() != nil {
			break // stopped (SIGTERM) while waiting
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep, err))
	}
	cli.Close()
	return nil, fmt.Errorf("etcd unreachable at %v: %w", endpoints, errors.Join(errs...))
}

// dashboardNote is ", dashboard URL" for a coordinator serving one.
func dashboardNote(c *coordinator.Coordinator) string {
	if u := c.DashboardURL(); u != "" {
		return ", dashboard " + u
	}
	return ""
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mesaopt/mesaopt/worker"
)

// gossipFlags are the gossip security and address flags of `mesaopt
// coordinator` and `mesaopt worker`.
type gossipFlags struct {
	keyFile   string
	insecure  bool
	advertise string // gossip
}

func (g *gossipFlags) register(f *pflag.FlagSet) {
	f.StringVar(&g.keyFile, "gossip-key-file", "", "file of base64 gossip keys, one a line, the primary first (make one with: mesaopt gossip-key); default: $"+worker.GossipKeyEnv)
	f.StringVar(&g.advertise, "advertise-gossip", "", "gossip host:port other members reach this one at (default: the --gossip address)")
}

// load returns the gossip settings for a member bound to bind: the keys
// from --gossip-key-file, else from $MESAOPT_GOSSIP_KEY. Without a key a
// member not bound to loopback is refused unless --insecure (exit 2).
func (g *gossipFlags) load(bind string, log *slog.Logger) (worker.Gossip, error) {
	out := worker.Gossip{Advertise: g.advertise}
	if g.advertise != "" {
		if err := checkAddr("advertise-gossip", g.advertise, false); err != nil {
			return out, err
		}
	}
	switch {
	case g.keyFile != "":
		b, err := os.ReadFile(g.keyFile)
		if err != nil {
			return out, usagef("--gossip-key-file = %q: %v", g.keyFile, err)
		}
		if out.Keys, err = worker.ParseGossipKeys("--gossip-key-file "+g.keyFile, string(b)); err != nil {
			return out, exitError{code: 2, err: err}
		}
	case os.Getenv(worker.GossipKeyEnv) != "":
		keys, err := worker.ParseGossipKeys("$"+worker.GossipKeyEnv, os.Getenv(worker.GossipKeyEnv))
		if err != nil {
			return out, exitError{code: 2, err: err}
		}
		out.Keys = keys
	case worker.IsLoopback(bind):
	case g.insecure:
		log.Warn("gossip is plaintext on an address that is not loopback (--insecure): any process that reaches it may join the cluster", "gossip", bind)
	default:
		return out, usagef("--gossip = %q is not loopback and no gossip key is given: allowed --gossip-key-file FILE or $%s (make a key with: mesaopt gossip-key), or --insecure for plaintext gossip",
			bind, worker.GossipKeyEnv)
	}
	return out, nil
}

// gossipKeyCmd prints a fresh gossip key.
func gossipKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "gossip-key",
		Short: "Print a fresh random gossip key (base64 of 32 bytes): a line of a --gossip-key-file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := worker.GenerateGossipKey()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), k)
			return err
		},
	}
}

// runGossipKey returns the gossip key of `mesaopt run`'s data directory,
// creating it (mode 0600) on the first run: a resumed run keeps its key.
func runGossipKey(dataDir string) (string, [][]byte, error) {
	path := filepath.Join(dataDir, "gossip.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, gerr := worker.GenerateGossipKey()
		if gerr != nil {
			return "", nil, gerr
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return "", nil, err
		}
		b = []byte(k + "\n")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return "", nil, fmt.Errorf("gossip key: %w", err)
		}
	} else if err != nil {
		return "", nil, fmt.Errorf("gossip key: %w", err)
	}
	keys, err := worker.ParseGossipKeys(path, string(b))
	return string(b), keys, err
}

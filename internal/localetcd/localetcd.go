// Package localetcd starts the embedded single-member etcd server that
// `mesaopt run` uses as its one-machine default, and that tests use.
//
// Lifecycle: Start → use Endpoints() with a client → Close. Start returns
// once the server is ready (embed.Etcd.Server.ReadyNotify) or fails within
// its timeout; Close stops the server and is idempotent.
package localetcd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Config says where the embedded etcd keeps data and listens.
type Config struct {
	// Dir is the data directory; it is created if missing and reused.
	Dir string
	// ClientAddr and PeerAddr are host:port on loopback.
	ClientAddr string
	PeerAddr   string
	// StartTimeout bounds waiting for the server to become ready.
	StartTimeout time.Duration
	// MaxRequestBytes is the largest request the server accepts; 0 means
	// DefaultMaxRequestBytes.
	MaxRequestBytes uint
}

// DefaultMaxRequestBytes is the embedded server's request limit: larger
// than etcd's 1.5 MiB default so that the generation commit of a large
// population fits in one transaction.
const DefaultMaxRequestBytes = 64 << 20

// ErrInUse: another process uses the data directory.
var ErrInUse = errors.New("data directory is in use by another process")

// Server is a running embedded etcd.
type Server struct {
	e    *embed.Etcd
	lock *os.File
	once sync.Once
}

// Start starts etcd and waits until it serves clients.
func Start(cfg Config) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(cfg.Dir)), 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(filepath.Clean(cfg.Dir) + ".lock")
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", cfg.Dir, err)
	}
	s, err := start(cfg)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func start(cfg Config) (*Server, error) {
	c := embed.NewConfig()
	c.Name = "mesaopt"
	c.Dir = cfg.Dir
	cu, err := url.Parse("http://" + cfg.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("etcd client address %q: %w", cfg.ClientAddr, err)
	}
	pu, err := url.Parse("http://" + cfg.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("etcd peer address %q: %w", cfg.PeerAddr, err)
	}
	c.ListenClientUrls = []url.URL{*cu}
	c.AdvertiseClientUrls = []url.URL{*cu}
	c.ListenPeerUrls = []url.URL{*pu}
	c.AdvertisePeerUrls = []url.URL{*pu}
	c.InitialCluster = c.Name + "=" + pu.String()
	c.MaxRequestBytes = cfg.MaxRequestBytes
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	c.LogLevel = "error"
	c.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// A session-scoped history: compact hourly so a long run stays within quota.
	c.AutoCompactionMode = "periodic"
	c.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(c)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s on %s: %w", cfg.Dir, cfg.ClientAddr, err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s not ready after %v", cfg.Dir, timeout)
	}
	return &Server{e: e}, nil
}

// Endpoints returns the client URLs.
func (s *Server) Endpoints() []string {
	var out []string
	for _, u := range s.e.Config().ListenClientUrls {
		out = append(out, u.String())
	}
	return out
}

// Err reports a fatal server error after start.
func (s *Server) Err() <-chan error { return s.e.Err() }

// Close stops the server. Idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		s.e.Close()
		if s.lock != nil {
			s.lock.Close()
		}
	})
}

// Quiet returns a logger that discards, for callers that pass one around.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

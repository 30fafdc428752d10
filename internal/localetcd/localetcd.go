// Package localetcd starts the embedded single-member etcd server that
// `mesaopt run` uses as its one-machine default, and that tests use.
//
// Lifecycle: Start → use Endpoints() with a client → Close. Start returns
// once the server is ready (embed.Etcd.Server.ReadyNotify) or fails within
// its timeout; Close stops the server and is idempotent.
//
// Disk errors: etcd exits the process (a zap Fatal or Panic) when it cannot
// write its write-ahead log or database, which with a quiet logger used to
// mean an exit without a word. Start therefore checks the free space first
// (ErrNoSpace), turns a failure while starting into an error, and a failure
// of the running server into a call of Config.Fatal and exit code 1. The
// data directory stays resumable: etcd acknowledges only what it has
// synced, and the lock is released with the process.
package localetcd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	// Fatal, when set, is called with the error when the running server
	// meets one it cannot go on from (etcd ends the process then: a full
	// disk, a failed fsync); err wraps ErrNoSpace when the disk is full. It
	// is called once, on the goroutine that failed, while the rest of the
	// process still runs; the process exits with code 1 when it returns.
	// nil prints the error to standard error.
	Fatal func(err error)
}

// DefaultMaxRequestBytes is the embedded server's request limit: larger
// than etcd's 1.5 MiB default so that the generation commit of a large
// population fits in one transaction.
const DefaultMaxRequestBytes = 64 << 20

// Errors.
var (
	// ErrInUse: another process uses the data directory.
	ErrInUse = errors.New("data directory is in use by another process")
	// ErrNoSpace: the data directory's disk is full, or too full to start.
	ErrNoSpace = errors.New("no space left on device")
)

// Server is a running embedded etcd.
type Server struct {
	cfg  Config
	e    *embed.Etcd
	lock *os.File
	once sync.Once

	// While starting, a fatal log of etcd records the failure here and ends
	// its goroutine; once started, it ends the process (die).
	started  atomic.Bool
	failOnce sync.Once
	failErr  error
	failed   chan struct{} // closed once failErr is set
	dieOnce  sync.Once
}

// Start checks the free space, starts etcd and waits until it serves
// clients. Errors: ErrInUse, ErrNoSpace (naming the directory, the free
// and the needed space), or what etcd reported. After an error from a
// failure inside etcd some of its goroutines may be left behind; the
// caller is expected to exit.
func Start(cfg Config) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(cfg.Dir)), 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(filepath.Clean(cfg.Dir) + ".lock")
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", cfg.Dir, err)
	}
	if err := checkSpace(cfg.Dir); err != nil {
		unlockDir(lock)
		return nil, err
	}
	s := &Server{cfg: cfg, lock: lock, failed: make(chan struct{})}
	if err := s.start(); err != nil {
		unlockDir(lock)
		return nil, err
	}
	s.started.Store(true)
	return s, nil
}

// Space etcd needs free to start: it preallocates write-ahead log segments
// of wal.SegmentSizeBytes (64 MB), a new directory's first one and, in the
// background, always the next (reusing a spare segment, N.tmp, a previous
// server left behind), and grows its database in steps of up to dbGrowth
// (bbolt's allocation size).
const dbGrowth = 16 << 20

func neededSpace(dir string) uint64 {
	seg := uint64(wal.SegmentSizeBytes)
	walDir := filepath.Join(dir, "member", "wal")
	if !wal.Exist(walDir) {
		return 2*seg + dbGrowth
	}
	var spare uint64
	tmps, _ := filepath.Glob(filepath.Join(walDir, "*.tmp"))
	for _, p := range tmps {
		if fi, err := os.Stat(p); err == nil {
			spare = max(spare, uint64(fi.Size()))
		}
	}
	return seg - min(spare, seg) + dbGrowth
}

// checkSpace refuses to start etcd on a disk too full for it, which etcd
// would answer with a panic.
func checkSpace(dir string) error {
	at := dir
	if _, err := os.Stat(at); err != nil {
		at = filepath.Dir(filepath.Clean(dir))
	}
	free, ok := freeSpace(at)
	need := neededSpace(dir)
	if !ok || free >= need {
		return nil
	}
	return fmt.Errorf("%w in %s: %s free, the embedded etcd needs at least %s (it preallocates %s write-ahead log segments)",
		ErrNoSpace, dir, mib(free), mib(need), fmt.Sprintf("%d MB", wal.SegmentSizeBytes/1e6))
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (s *Server) start() error {
	cfg := s.cfg
	c := embed.NewConfig()
	c.Name = "mesaopt"
	c.Dir = cfg.Dir
	cu, err := url.Parse("http://" + cfg.ClientAddr)
	if err != nil {
		return fmt.Errorf("etcd client address %q: %w", cfg.ClientAddr, err)
	}
	pu, err := url.Parse("http://" + cfg.PeerAddr)
	if err != nil {
		return fmt.Errorf("etcd peer address %q: %w", cfg.PeerAddr, err)
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
	// Quiet, but a Fatal or Panic of etcd comes to s.fatal instead of
	// ending the process without a word.
	hook := fatalHook{s}
	c.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(zapcore.NewNopCore(), zap.WithFatalHook(hook), zap.WithPanicHook(hook)))
	// A session-scoped history: compact hourly so a long run stays within quota.
	c.AutoCompactionMode = "periodic"
	c.AutoCompactionRetention = "1h"

	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.After(timeout)
	// StartEtcd runs on a goroutine of its own, which a fatal log during
	// the start ends (runtime.Goexit) after recording why.
	type started struct {
		e   *embed.Etcd
		err error
	}
	done := make(chan started, 1)
	go func() {
		var r started
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("embedded etcd in %s: %v", cfg.Dir, p)
			}
			done <- r
		}()
		r.e, r.err = embed.StartEtcd(c)
	}()
	var e *embed.Etcd
	select {
	case r := <-done:
		if s.failure() != nil {
			return s.failure()
		}
		if r.err != nil {
			return fmt.Errorf("start embedded etcd in %s on %s: %w", cfg.Dir, cfg.ClientAddr, r.err)
		}
		e = r.e
	case <-s.failed:
		return s.failure()
	case <-deadline:
		return fmt.Errorf("embedded etcd in %s not started after %v", cfg.Dir, timeout)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("embedded etcd: %w", err)
	case <-s.failed:
		return s.failure() // e cannot be closed: some of its goroutines are gone
	case <-deadline:
		e.Server.Stop()
		e.Close()
		return fmt.Errorf("embedded etcd in %s not ready after %v", cfg.Dir, timeout)
	}
	s.e = e
	return nil
}

// failure returns the failure recorded while starting, or nil.
func (s *Server) failure() error {
	select {
	case <-s.failed:
		return s.failErr
	default:
		return nil
	}
}

// fatalHook receives etcd's Fatal and Panic logs; it never returns.
type fatalHook struct{ s *Server }

func (h fatalHook) OnWrite(ce *zapcore.CheckedEntry, fields []zapcore.Field) {
	s := h.s
	err := describe(s.cfg.Dir, ce.Message, fields)
	if !s.started.Load() {
		s.failOnce.Do(func() { s.failErr = err; close(s.failed) })
		runtime.Goexit()
	}
	s.die(err)
}

// die reports err and ends the process: etcd cannot go on, and returning
// would let it run on after a failed write.
func (s *Server) die(err error) {
	s.dieOnce.Do(func() {
		if s.cfg.Fatal != nil {
			s.cfg.Fatal(err)
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		// The flock goes with the process; the file goes now.
		_ = os.Remove(s.lock.Name())
		os.Exit(1)
	})
	select {} // another goroutine is exiting the process
}

// describe turns a fatal log of etcd into an error: its message and the
// error it carried, as ErrNoSpace when the disk is full.
func describe(dir, msg string, fields []zapcore.Field) error {
	var cause error
	for _, f := range fields {
		if e, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType {
			cause = e
		}
	}
	what := "etcd: " + msg
	if cause != nil {
		what += ": " + cause.Error()
	}
	if errors.Is(cause, syscall.ENOSPC) || (cause != nil && strings.Contains(cause.Error(), ErrNoSpace.Error())) {
		return fmt.Errorf("%w in %s (%s)", ErrNoSpace, dir, what)
	}
	return fmt.Errorf("embedded etcd in %s failed (%s)", dir, what)
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

// Close stops the server and releases the data directory. Idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		s.e.Close()
		unlockDir(s.lock)
	})
}

// Quiet returns a logger that discards, for callers that pass one around.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

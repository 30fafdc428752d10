package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/mesaopt/mesaopt/experiment"
)

// Limits is the coordinator's admission control: how much work it accepts,
// so that no client (or mistake) can grow it beyond its machine. A refused
// call gets codes.ResourceExhausted with a message naming the limit, its
// value and the `mesaopt coordinator` flag that raises it. A zero field
// takes its default (DefaultLimits). Each default is far above what the
// README's experiments and sweeps need.
type Limits struct {
	// MaxRuns bounds the runs executing at once on this coordinator,
	// counting every run of a sweep. A submit, resume or fork that would go
	// beyond it is refused; a sweep whose runs would is refused whole.
	// Default 64: the largest sweep the README shows
	// (experiments/coin-randomisation.yaml, 4 values × 5 seeds) has 20
	// runs, so three of them fit side by side.
	MaxRuns int
	// MaxRunCost bounds a run's cost (RunCost, episodes). Default 10⁹: the
	// default experiment (experiments/doors.yaml) costs about 2.4 × 10⁵, so
	// a run 4,000 times as large (10 × the population, 10 × the
	// generations, 40 × the episodes) is still accepted; the population
	// 100,000 × 100,000 generations that experiment.Spec allows (over 10¹²)
	// is not.
	MaxRunCost int64
	// SubmitsPerMinute bounds the calls that start work (SubmitRun,
	// SubmitSweep, ResumeRun, ResumeSweep, ForkRun, EvaluateGenomes) per
	// client: a token bucket of this size refilled at this rate per
	// minute. Default 60: a sweep is one call, and a script submitting one
	// run a second never waits.
	SubmitsPerMinute int
	// MaxStreams bounds the streaming calls a client holds open at once
	// (WatchRun, WatchSweep, WatchGenerations, ExportPhylogeny). Default
	// 128: following a 20-run sweep takes at most one stream per run and
	// one for the sweep, and all clients on one host count as one client.
	MaxStreams int
	// Client names the client a call comes from, the key of
	// SubmitsPerMinute and MaxStreams; nil means PeerClient.
	Client func(ctx context.Context) string
}

// Defaults of Limits (see each field for why).
const (
	DefaultMaxRuns          = 64
	DefaultMaxRunCost       = int64(1_000_000_000)
	DefaultSubmitsPerMinute = 60
	DefaultMaxStreams       = 128
)

// DefaultLimits returns the limits a coordinator has unless told otherwise.
func DefaultLimits() Limits {
	return Limits{MaxRuns: DefaultMaxRuns, MaxRunCost: DefaultMaxRunCost, SubmitsPerMinute: DefaultSubmitsPerMinute, MaxStreams: DefaultMaxStreams}
}

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxRuns == 0 {
		l.MaxRuns = d.MaxRuns
	}
	if l.MaxRunCost == 0 {
		l.MaxRunCost = d.MaxRunCost
	}
	if l.SubmitsPerMinute == 0 {
		l.SubmitsPerMinute = d.SubmitsPerMinute
	}
	if l.MaxStreams == 0 {
		l.MaxStreams = d.MaxStreams
	}
	if l.Client == nil {
		l.Client = PeerClient
	}
	return l
}

// Validate reports the first negative limit, naming it and its flag.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"max-runs", int64(l.MaxRuns)}, {"max-run-cost", l.MaxRunCost}, {"max-submits-per-minute", int64(l.SubmitsPerMinute)}, {"max-streams-per-client", int64(l.MaxStreams)}} {
		if f.v < 0 {
			return fmt.Errorf("coordinator config: %s = %d, allowed 1 or more (0: the default)", f.name, f.v)
		}
	}
	return nil
}

// PeerClient names a call's client: by its verified client certificate
// (subject common name and serial number) when it presented one over TLS,
// else by the host of its peer address (the port changes with every
// connection); "" without a peer.
func PeerClient(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.VerifiedChains) > 0 && len(info.State.VerifiedChains[0]) > 0 {
		leaf := info.State.VerifiedChains[0][0]
		return fmt.Sprintf("certificate %s (serial %s)", leaf.Subject.CommonName, leaf.SerialNumber)
	}
	a := p.Addr.String()
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// RunCost is what Limits.MaxRunCost bounds, in episodes: population ×
// generations × the episodes each member plays per generation, which are
// spec.Episodes selection episodes plus spec.AnalysisEpisodes under each
// condition (train and every shifted one) and under the identity
// condition: (episodes + (1 + shifted conditions + 1) × analysis_episodes).
// The champion's re-planning at every horizon ("does thinking help") and
// the last generation's untrained-weights analysis add at most a few
// members' worth per generation and are not counted.
func RunCost(spec experiment.Spec) int64 {
	perMember := int64(spec.Episodes) + int64(len(spec.Conditions())+1)*int64(spec.AnalysisEpisodes)
	return int64(spec.Population) * int64(spec.Generations) * perMember
}

// ErrLimit is wrapped by every refusal of admission control (a LimitError);
// the gRPC edge answers codes.ResourceExhausted.
var ErrLimit = errors.New("limit reached")

// LimitError is a refusal by admission control.
type LimitError struct {
	Limit string // what is limited, e.g. "concurrent runs"
	Value int64  // the limit's value
	Flag  string // the `mesaopt coordinator` flag that sets it
	Asked string // what the call asked for, e.g. "3 more runs while 63 run"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: %s: %s, allowed %d (raise it with mesaopt coordinator --%s)", ErrLimit, e.Limit, e.Asked, e.Value, e.Flag)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// admission holds the state of admission control. Its methods are safe
// for concurrent use.
type admission struct {
	limits Limits
	now    func() time.Time

	mu       sync.Mutex
	reserved int                // runs admitted and not launched yet
	buckets  map[string]*bucket // submits per client; lookup only
	streams  map[string]int     // open streams per client; lookup only
}

// bucket is one client's token bucket of submits.
type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the clients whose submit buckets are remembered;
// beyond it, full (idle) buckets are forgotten, which changes nothing.
const maxBuckets = 4096

func newAdmission(l Limits) *admission {
	return &admission{limits: l.withDefaults(), now: time.Now, buckets: map[string]*bucket{}, streams: map[string]int{}}
}

// cost refuses a run whose RunCost is above MaxRunCost.
func (a *admission) cost(spec experiment.Spec) error {
	if c := RunCost(spec); c > a.limits.MaxRunCost {
		return &LimitError{Limit: "run cost (population × generations × episodes per member and generation)", Value: a.limits.MaxRunCost, Flag: "max-run-cost",
			Asked: fmt.Sprintf("run %q costs %d episodes (%d × %d × %d)", spec.Name, c, spec.Population, spec.Generations, c/int64(spec.Population)/int64(spec.Generations))}
	}
	return nil
}

// runs reserves n runs beside the running ones, or refuses them all. The
// caller calls release once the runs are launched (counted as running) or
// not started.
func (a *admission) runs(running, n int) (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if running+a.reserved+n > a.limits.MaxRuns {
		return nil, &LimitError{Limit: "concurrent runs", Value: int64(a.limits.MaxRuns), Flag: "max-runs",
			Asked: fmt.Sprintf("%d more while %d run", n, running+a.reserved)}
	}
	a.reserved += n
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.reserved -= n
			a.mu.Unlock()
		})
	}, nil
}

// submit takes one submit of the client of ctx from its bucket.
func (a *admission) submit(ctx context.Context) error {
	client := a.limits.Client(ctx)
	rate := float64(a.limits.SubmitsPerMinute)
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buckets[client]
	if b == nil {
		if len(a.buckets) >= maxBuckets {
			a.forgetFullLocked(now)
		}
		b = &bucket{tokens: rate, at: now}
		a.buckets[client] = b
	}
	b.tokens = min(rate, b.tokens+now.Sub(b.at).Minutes()*rate)
	b.at = now
	if b.tokens < 1 {
		return &LimitError{Limit: "submits per client per minute", Value: int64(a.limits.SubmitsPerMinute), Flag: "max-submits-per-minute",
			Asked: fmt.Sprintf("client %s submitted more", clientName(client))}
	}
	b.tokens--
	return nil
}

// forgetFullLocked drops the buckets that have refilled: their clients
// would start with a full bucket anyway. Order does not matter.
func (a *admission) forgetFullLocked(now time.Time) {
	rate := float64(a.limits.SubmitsPerMinute)
	for k, b := range a.buckets {
		if b.tokens+now.Sub(b.at).Minutes()*rate >= rate {
			delete(a.buckets, k)
		}
	}
}

// stream opens one stream of the client of ctx, or refuses it; the caller
// calls release when the stream ends.
func (a *admission) stream(ctx context.Context) (release func(), err error) {
	client := a.limits.Client(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[client] >= a.limits.MaxStreams {
		return nil, &LimitError{Limit: "open streams per client", Value: int64(a.limits.MaxStreams), Flag: "max-streams-per-client",
			Asked: fmt.Sprintf("client %s opened one more", clientName(client))}
	}
	a.streams[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.streams[client]--; a.streams[client] <= 0 {
				delete(a.streams, client)
			}
		})
	}, nil
}

func clientName(c string) string {
	if c == "" {
		return "(unknown)"
	}
	return c
}

// running counts the runs this coordinator executes.
func (c *Coordinator) running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ar := range c.runs {
		if !isDone(ar) {
			n++
		}
	}
	return n
}

// admitRuns checks the cost of each spec and reserves a place for every
// one among the concurrent runs, or refuses them all.
func (c *Coordinator) admitRuns(specs ...experiment.Spec) (release func(), err error) {
	for _, s := range specs {
		if err := c.admit.cost(s); err != nil {
			return nil, err
		}
	}
	return c.admit.runs(c.running(), len(specs))
}

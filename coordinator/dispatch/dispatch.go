// Package dispatch provides the Dispatcher: evaluation batches routed over
// gRPC to the workers that gossip announces, with per-worker flow control,
// retries elsewhere, speculative duplicates of slow batches and splitting
// of oversized ones.
//
// Lifecycle:
//
//	d := dispatch.NewDispatcher(timeout, log)
//	ml, _ := memberlist.Create(cfg) // cfg.Events = dispatch.NewMembership(d, log)
//	resp, err := d.Evaluate(ctx, req) // safe for concurrent use; blocks until a worker answers
//	d.Close()                         // after the last Evaluate returned
//
// Results are pure functions of the request, so which worker answers never
// changes them; the Dispatcher owns no goroutine beyond the calls it makes
// for an Evaluate, which are joined before Evaluate returns.
package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// Dispatcher routes batches to the workers that gossip announces.
//
// Flow control: each worker takes at most its in-flight window of
// concurrent batches, and a batch goes to the least loaded worker
// (relative to its capacity) it has not tried yet. The window is
// capacity × clamp(ceil(R/E) + 1, 2, 64) batches, E being the worker's
// usual batch cost per slot (BatchAnswer.eval_ns: the time it evaluated,
// queueing excluded, so a deep window does not inflate it and shrink
// itself) and R = roundTrip the allowance for a round trip: enough batches
// wait at each slot that it never idles while an answer travels back and
// the next batch comes, yet no more. Expensive batches (E ≥ R) get 2 per
// slot, one evaluated and one waiting; cheap ones up to 64, coalesced into
// few messages. E follows a slower batch at once and a faster one
// gradually, and is unknown (window 2 per slot) until the first answer.
// So a batch waits behind at most about R + 2E of work on its worker.
//
// Deadlines: an attempt's deadline (the attempt timeout) counts from when
// the batch is expected to start on its worker, the batches ahead of it in
// the window at E / capacity each, so queueing in a deep window does not
// eat into it. A call that fails (worker gone, deadline
// missed) is retried on another worker, and a worker that failed is rested
// for a while first (1 s, doubling with each consecutive failure up to
// 30 s). When a batch has run well past the usual batch time and a worker
// sits idle with nothing queued — the tail of a generation — a speculative
// duplicate goes to that idle worker; the first answer wins and the other
// call is cancelled, its late result never read. A request larger than the
// gRPC message limit is split in halves, never sent as it is. Because
// results are pure functions of the request, which worker answers never
// changes them.
//
// Sharing: concurrent runs (a sweep's) share the workers round-robin. The
// calls waiting for a slot queue per run (EvaluateRequest.run_id; a
// request without one counts as run ""), FIFO within the run, and the
// runs with waiting calls form a ring in order of arrival: a freed slot
// goes to the first waiting call of the next run in the ring, which then
// goes to the back. So every run with waiting batches gets a freed slot
// in turn, one batch per turn, and with k runs waiting each gets about
// 1/k of the batch starts, whatever its population and however early its
// batches queued. Batches differ in size, so the shares are equal in
// batches, not in genomes: a run with batches twice as large gets twice
// the evaluation time. A call that finds a free slot takes it without
// queueing, which happens only while nobody waits or in the moment a
// change of workers or the end of a worker's rest frees slots for every
// waiting call to pick again. Results never depend on the sharing, being
// pure functions of the request.
//
// Concurrency: every method is safe for concurrent use. Upsert, Remove and
// Drain (the gossip side, called from memberlist's goroutines) may run
// while Evaluate calls are in flight; those calls see the change at their
// next routing decision. Close must come after the last Evaluate returned.
type Dispatcher struct {
	log         *slog.Logger
	timeout     time.Duration
	maxAttempts int
	maxMessage  int
	hedge       bool
	dialOptions []grpc.DialOption
	obs         Observer

	mu      sync.Mutex
	workers map[string]*remote // lookup by gossip name; never ranged where order matters
	changed chan struct{}      // closed and replaced when the set of workers changes: every waiter re-checks
	// The calls blocked in acquire, one FIFO per run (see Sharing): runs
	// finds a run's queue (lookup only, never ranged), ring orders the runs
	// with waiting calls, ring[turn] the one whose turn is next. A freed
	// slot is reserved for that run's first call and handed to it, so it
	// need not pick again; hedges never take a slot a queued call waits for.
	runs    map[string]*runQueue
	ring    []*runQueue
	turn    int
	waiting int         // calls in all run queues
	spare   []*runQueue // emptied run queues, for reuse
	batchNS float64     // moving average of a successful call's duration, ns
	// noneWarned: a wait for workers began since the last worker joined,
	// so the other calls waiting for one stay quiet; noneSince is when,
	// and reminder says it again while the wait lasts (see remindLocked).
	// noneSaid: the wait was logged ("waiting for workers to join"), at
	// noneLogged: a wait that begins within remindAt of the last one logged
	// is not (a worker that comes and goes, refused again and again, would
	// say it at every turn) until its reminder.
	noneWarned, noneSaid  bool
	noneSince, noneLogged time.Time
	reminder              *time.Timer
	remindAt              time.Duration // the first reminder's delay: firstReminder, shorter in tests
	// passed maps a worker's name to the required evaluation digest last
	// logged as not its own (see WithEvaluationDigest), so each refusal is
	// said once; unmatched maps a digest no worker had when last looked
	// at. Lookup only.
	passed    map[string]string
	unmatched map[string]bool
	closed    bool
	// quarantined names the workers caught lying (Quarantine), with why:
	// never given work again by this Dispatcher. Lookup only.
	quarantined map[string]string
	// draining holds the workers that left gracefully and still finish
	// in-flight calls, by name, until their last call answered: for
	// Statuses only. Lookup only.
	draining map[string]*remote
	// open lists the workers that can take a batch (window not full, not
	// leaving), least loaded relative to capacity first, then by name: a
	// pick walks it from the front instead of scanning every worker.
	open []*remote

	base   context.Context // parent of every link's context; cancelled by Close
	stop   context.CancelFunc
	links  sync.WaitGroup // every link's goroutines
	states sync.Pool      // *evalState
}

type remote struct {
	name      string
	addr      string
	digest    string // the evaluation digest it advertises
	build     string // the build it advertises, for humans
	joined    time.Time
	batches   uint64 // batches answered successfully
	evaluated uint64 // genome evaluations in them
	capacity  int
	inflight  int
	perSlot   int     // in-flight window per unit of capacity, 2..64
	evalNS    float64 // E: moving batch cost per slot, ns (see Dispatcher); 0: none measured
	failures  int     // consecutive failed calls
	restUntil time.Time
	leaving   bool // gone from gossip gracefully: close once in-flight calls finish
	listed    bool // in Dispatcher.open
	conn      *grpc.ClientConn
	client    rpc.EvaluatorServiceClient
	link      *link // the dispatch stream, opened on first use; under Dispatcher.mu
}

// closeLocked closes w's connection and stream.
func (w *remote) closeLocked() {
	if w.link != nil {
		w.link.cancel()
	}
	_ = w.conn.Close()
}

// Dispatcher limits.
const (
	// DefaultMaxAttempts is the number of calls a batch gets before the
	// Dispatcher gives up on it, unless WithMaxAttempts says otherwise.
	DefaultMaxAttempts = 8
	// minPerSlot and maxPerSlot bound a worker's in-flight window per
	// unit of capacity (see Dispatcher).
	minPerSlot, maxPerSlot = 2, 64
	// roundTrip is the window rule's allowance R for the time between a
	// worker answering a batch and its next batch arriving, a little
	// above a loaded loopback or LAN round trip through the stream.
	roundTrip = time.Millisecond
	maxRest   = 30 * time.Second
)

// ErrAttemptsExhausted is wrapped by Evaluate's error when every allowed
// call for a batch failed (as opposed to the context ending or a worker
// refusing the batch as invalid).
var ErrAttemptsExhausted = errors.New("evaluation attempts exhausted")

// DispatchOption changes a Dispatcher's defaults.
type DispatchOption func(*Dispatcher)

// WithMaxMessageSize sets the largest request, in bytes, sent in one call;
// larger batches are split. Default grpcconf.MaxMessageBytes.
func WithMaxMessageSize(n int) DispatchOption { return func(d *Dispatcher) { d.maxMessage = n } }

// WithDialOptions adds gRPC dial options toward workers (after
// grpcconf.ClientOptions), e.g. a bufconn dialer in tests and benchmarks.
func WithDialOptions(opts ...grpc.DialOption) DispatchOption {
	return func(d *Dispatcher) { d.dialOptions = append(d.dialOptions, opts...) }
}

// WithoutHedging turns speculative duplicates of slow batches off.
func WithoutHedging() DispatchOption { return func(d *Dispatcher) { d.hedge = false } }

// NewDispatcher returns a dispatcher whose calls have the given deadline
// (unless WithAttemptTimeout overrides it per call).
func NewDispatcher(timeout time.Duration, log *slog.Logger, opts ...DispatchOption) *Dispatcher {
	d := &Dispatcher{log: log, timeout: timeout, maxAttempts: DefaultMaxAttempts, maxMessage: grpcconf.MaxMessageBytes, hedge: true, obs: nopObserver{},
		workers: map[string]*remote{}, changed: make(chan struct{}), runs: map[string]*runQueue{},
		passed: map[string]string{}, unmatched: map[string]bool{}, quarantined: map[string]string{}, draining: map[string]*remote{}, remindAt: firstReminder}
	d.base, d.stop = context.WithCancel(context.Background())
	for _, o := range opts {
		o(d)
	}
	return d
}

// notifyLocked wakes every waiter: the workers changed.
func (d *Dispatcher) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
	for wt := d.nextWaiterLocked(); wt != nil; wt = d.nextWaiterLocked() {
		wt.turn <- nil
	}
}

// handOnLocked gives a freed slot to the first queued call of the run
// whose turn it is (see Sharing): the worker that call would pick,
// reserved, or a wake-up to pick again when there is none for it. One per
// freed slot, not all, keeps a release O(log n) with thousands of queued
// batches.
func (d *Dispatcher) handOnLocked() {
	if d.waiting == 0 {
		return
	}
	head := d.ring[d.turn].head
	best, _ := d.pickLocked(time.Now(), head.tried, head.avoid, head.digest)
	if best != nil {
		d.reserveLocked(best)
	}
	d.nextWaiterLocked().turn <- best
}

// reserveLocked takes a slot of w for a call.
func (d *Dispatcher) reserveLocked(w *remote) {
	d.unlistLocked(w)
	w.inflight++
	d.listLocked(w)
}

// Upsert adds or updates a worker from its gossip metadata. A worker of
// another protocol version is refused with a log line saying so. Metadata
// with another gRPC address than the known one is a new process under the
// same name: the old one's connection is closed and its calls retried.
func (d *Dispatcher) Upsert(name string, m worker.Meta) {
	if m.Role != worker.RoleWorker {
		return
	}
	if m.Protocol != worker.ProtocolVersion {
		d.log.Error("refusing worker: protocol version differs; upgrade the older side", "worker", name,
			"worker_protocol", m.Protocol, "coordinator_protocol", worker.ProtocolVersion, "worker_build", m.Build)
		return
	}
	if m.Draining {
		d.dropIf(name, m.GRPC, nil, true)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if _, ok := d.quarantined[name]; ok {
		return
	}
	if w, ok := d.workers[name]; ok && w.addr == m.GRPC {
		d.unlistLocked(w)
		w.capacity = max(1, m.Capacity)
		w.digest = m.Digest
		w.build = m.Build
		d.listLocked(w)
		d.notifyLocked()
		return
	} else if ok {
		d.log.Info("worker moved to a new address; dropping the old one", "worker", name, "old_addr", w.addr, "addr", m.GRPC)
		d.dropLocked(w, false)
	}
	conn, err := grpc.NewClient(m.GRPC, append(grpcconf.ClientOptions(), d.dialOptions...)...)
	if err != nil {
		d.log.Error("worker address unusable", "worker", name, "addr", m.GRPC, "err", err)
		return
	}
	w := &remote{name: name, addr: m.GRPC, digest: m.Digest, build: m.Build, joined: time.Now(), capacity: max(1, m.Capacity), perSlot: minPerSlot, conn: conn, client: rpc.NewEvaluatorServiceClient(conn)}
	d.workers[name] = w
	d.listLocked(w)
	if d.noneWarned {
		if d.noneSaid {
			d.log.Warn("a worker joined: the wait for workers is over", "worker", name, "waited", time.Since(d.noneSince).Round(time.Second))
		}
		d.noneWarned, d.noneSaid = false, false
		d.reminder.Stop()
	}
	delete(d.passed, name)
	clear(d.unmatched)
	d.log.Info("worker joined", "worker", name, "addr", m.GRPC, "capacity", m.Capacity, "evaluation_digest", m.Digest)
	d.notifyLocked()
}

// Quarantine stops all work for the worker known as name, for good: its
// in-flight calls are cancelled (and retried elsewhere by their callers),
// its connection closed, and gossip about it is ignored from now on, under
// any address. For a worker whose answers were caught lying (an audit's
// third opinion disagreed with it); reason is logged. Idempotent.
func (d *Dispatcher) Quarantine(name, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.quarantined[name]; ok {
		return
	}
	d.quarantined[name] = reason
	d.obs.Quarantined()
	d.log.Error("worker quarantined: no more work goes to it", "worker", name, "reason", reason)
	if w, ok := d.workers[name]; ok {
		d.dropLocked(w, false)
	}
}

// Quarantined returns the names of the quarantined workers, sorted.
func (d *Dispatcher) Quarantined() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.quarantined))
	for n := range d.quarantined {
		out = append(out, n)
	}
	slices.Sort(out) // the map's order is discarded
	return out
}

// Remove forgets a worker at once; its in-flight calls fail and are
// retried elsewhere. For a worker presumed dead.
func (d *Dispatcher) Remove(name string) { d.dropIf(name, "", nil, false) }

// Drain stops routing new calls to a worker that left the cluster
// gracefully (SIGTERM) and closes its connection once its in-flight calls
// have answered, so the work it is finishing is not thrown away.
func (d *Dispatcher) Drain(name string) { d.dropIf(name, "", nil, true) }

// dropIf drops the worker known as name (gracefully: as Drain) unless it
// is not the one meant: another gRPC address than addr (if addr is not
// empty) or another entry than w (if w is not nil). News about a process
// that has since been replaced under the same name then leaves its
// successor alone: a late "draining" answer or refusal from the old
// process, or gossip about the old address.
func (d *Dispatcher) dropIf(name, addr string, w *remote, graceful bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.workers[name]
	if !ok || (addr != "" && cur.addr != addr) || (w != nil && cur != w) {
		return
	}
	d.dropLocked(cur, graceful)
	if graceful {
		d.log.Info("worker draining", "worker", name, "in_flight", cur.inflight)
	} else {
		d.log.Info("worker left", "worker", name)
	}
}

func (d *Dispatcher) dropLocked(w *remote, graceful bool) {
	delete(d.workers, w.name)
	delete(d.passed, w.name)
	d.unlistLocked(w)
	w.leaving = true
	if !graceful || w.inflight == 0 {
		w.closeLocked()
	} else {
		d.draining[w.name] = w
	}
	d.notifyLocked()
}

// byLoad orders workers least loaded relative to capacity first, then by
// name: the pick's preference.
func byLoad(a, b *remote) int {
	if c := cmp.Compare(a.inflight*b.capacity, b.inflight*a.capacity); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// listLocked puts w in the open list if it can take a batch. Its load,
// window and capacity must not change while it is listed: unlistLocked
// first.
func (d *Dispatcher) listLocked(w *remote) {
	if w.listed || w.leaving || w.inflight >= w.perSlot*w.capacity {
		return
	}
	i, _ := slices.BinarySearchFunc(d.open, w, byLoad)
	d.open = slices.Insert(d.open, i, w)
	w.listed = true
}

// unlistLocked takes w out of the open list.
func (d *Dispatcher) unlistLocked(w *remote) {
	if !w.listed {
		return
	}
	w.listed = false
	i, _ := slices.BinarySearchFunc(d.open, w, byLoad)
	for ; i < len(d.open) && byLoad(d.open[i], w) == 0; i++ { // namesakes compare equal
		if d.open[i] == w {
			d.open = slices.Delete(d.open, i, i+1)
			return
		}
	}
	if j := slices.Index(d.open, w); j >= 0 { // listed under a key since changed: a bug, but keep the list sound
		d.open = slices.Delete(d.open, j, j+1)
	}
}

// linkLocked returns w's dispatch stream, opening a new one if there is
// none or the last one failed.
func (d *Dispatcher) linkLocked(w *remote) *link {
	if w.link == nil || w.link.failed() {
		w.link = d.newLink(w)
	}
	return w.link
}

// Workers returns the number of usable workers and their total capacity.
func (d *Dispatcher) Workers() (n, capacity int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		n++
		capacity += w.capacity
	}
	return n, capacity
}

// Window returns the workers' total in-flight window: the batches they
// take at once (capacity × the per-slot window of each, see Dispatcher).
// A caller that keeps about this many calls going keeps every slot busy;
// more only wait in the queue.
func (d *Dispatcher) Window() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, w := range d.workers {
		n += w.capacity * max(w.perSlot, minPerSlot)
	}
	return n
}

// Digests returns the evaluation digests the known workers advertise,
// sorted, each once.
func (d *Dispatcher) Digests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, w := range d.workers {
		if !slices.Contains(out, w.digest) {
			out = append(out, w.digest)
		}
	}
	slices.Sort(out)
	return out
}

// MatchingWorkers returns the number of usable workers that advertise the
// evaluation digest digest ("" counts every worker).
func (d *Dispatcher) MatchingWorkers(digest string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, w := range d.workers {
		if digest == "" || w.digest == digest {
			n++
		}
	}
	return n
}

// WorkerState is what the Dispatcher does with a worker (see Statuses).
type WorkerState int

// Worker states.
const (
	Alive       WorkerState = iota + 1 // gets work
	Resting                            // its last calls failed: gets work again after a pause
	Draining                           // left gracefully: finishes its in-flight calls, gets no more
	Quarantined                        // caught lying: never gets work again
)

// WorkerStatus is one worker as the Dispatcher sees it. The counters
// count since this process of the worker joined (gossip under a new
// address starts them again).
type WorkerStatus struct {
	Name, Addr, Build, Digest string
	Capacity                  int
	State                     WorkerState
	InFlight                  int       // calls in flight now
	Failures                  int       // consecutive failed calls
	Batches                   uint64    // calls answered successfully
	Evaluations               uint64    // genomes evaluated in them
	Joined                    time.Time // zero for a quarantined worker no longer known
	Reason                    string    // why it was quarantined
}

// Statuses returns every worker the Dispatcher knows: those it routes to,
// those draining and those quarantined, sorted by name (a quarantined
// name last among namesakes).
func (d *Dispatcher) Statuses() []WorkerStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	out := make([]WorkerStatus, 0, len(d.workers)+len(d.draining)+len(d.quarantined))
	add := func(w *remote, state WorkerState) {
		out = append(out, WorkerStatus{Name: w.name, Addr: w.addr, Build: w.build, Digest: w.digest, Capacity: w.capacity,
			State: state, InFlight: w.inflight, Failures: w.failures, Batches: w.batches, Evaluations: w.evaluated, Joined: w.joined})
	}
	for _, w := range d.workers {
		state := Alive
		if now.Before(w.restUntil) {
			state = Resting
		}
		add(w, state)
	}
	for _, w := range d.draining {
		if _, ok := d.quarantined[w.name]; !ok {
			add(w, Draining)
		}
	}
	for name, reason := range d.quarantined {
		out = append(out, WorkerStatus{Name: name, State: Quarantined, Reason: reason})
	}
	slices.SortFunc(out, func(a, b WorkerStatus) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.State, b.State))
	})
	return out
}

// Close drops every worker connection and waits for the dispatch streams'
// goroutines to end. Idempotent.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	if d.reminder != nil {
		d.reminder.Stop()
	}
	for _, w := range d.workers {
		d.dropLocked(w, false)
	}
	d.notifyLocked()
	d.mu.Unlock()
	d.stop()
	d.links.Wait()
}

// pickLocked returns the least loaded free worker (relative to its
// capacity, then the first by name) that advertises digest (any, if
// empty), preferring those not in tried and never one in avoid, and the
// time until a rested one wakes. It walks the open list from the front:
// O(1) usually, longer only past resting, tried, avoided or other-digest
// workers.
func (d *Dispatcher) pickLocked(now time.Time, tried, avoid map[string]bool, digest string) (*remote, time.Duration) {
	var fallback *remote // the best tried one
	var wake time.Duration
	for _, w := range d.open {
		if avoid[w.name] {
			continue
		}
		if digest != "" && w.digest != digest {
			d.passLocked(w, digest)
			continue
		}
		if now.Before(w.restUntil) {
			if wait := w.restUntil.Sub(now); wake == 0 || wait < wake {
				wake = wait
			}
			continue
		}
		if !tried[w.name] {
			return w, 0
		}
		if fallback == nil {
			fallback = w
		}
	}
	return fallback, wake
}

// acquire blocks until some worker has a free slot and reserves it. turn
// is the call's own waiter (not queued, its run set; left not queued).
func (d *Dispatcher) acquire(ctx context.Context, turn *waiter) (*remote, error) {
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, fmt.Errorf("dispatcher closed")
		}
		best, wake := d.pickLocked(time.Now(), turn.tried, turn.avoid, turn.digest)
		if best != nil {
			d.reserveLocked(best)
			d.mu.Unlock()
			return best, nil
		}
		if noWait(ctx) {
			d.mu.Unlock()
			return nil, ErrNoFreeWorker
		}
		changed := d.changed
		// Once per period without workers, however many batches wait:
		// a generation has hundreds in flight.
		if len(d.workers) == 0 && !d.noneWarned {
			now := time.Now()
			d.noneWarned, d.noneSince = true, now
			if d.noneLogged.IsZero() || now.Sub(d.noneLogged) >= d.remindAt {
				d.noneSaid, d.noneLogged = true, now
				d.log.Warn("waiting for workers to join")
			}
			d.remindLocked(d.remindAt)
		} else if turn.digest != "" && len(d.workers) > 0 && !d.unmatched[turn.digest] && d.matchingLocked(turn.digest) == 0 {
			d.unmatched[turn.digest] = true
			d.log.Warn("no worker has the run's evaluation digest: waiting for one to join (or fork the run to continue under the workers' semantics: mesactl run fork)",
				"run", turn.run, "evaluation_digest", turn.digest, "workers", len(d.workers))
		}
		d.enqueueLocked(turn)
		d.mu.Unlock()
		got, handed, err := waitFor(ctx, changed, turn.turn, wake)
		if handed && got != nil && err == nil {
			return got, nil // reserved by the release that handed it over
		}
		d.mu.Lock()
		if !handed {
			select {
			case got = <-turn.turn:
				handed = true
			default: // still queued: leave the queue
				d.dequeueLocked(turn)
			}
		}
		d.mu.Unlock()
		if err != nil {
			if got != nil {
				d.release(got, context.Canceled, true, 0, 0, 0) // pass on the slot this call will not use
			} else if handed {
				d.mu.Lock()
				d.handOnLocked() // pass on the turn
				d.mu.Unlock()
			}
			return nil, err
		}
		if got != nil {
			return got, nil
		}
	}
}

// Reminders of a long wait for workers: after firstReminder, then after
// each doubling of the wait, up to one every maxReminder.
const (
	firstReminder = time.Minute
	maxReminder   = 30 * time.Minute
)

// remindLocked says "still waiting for workers to join" after wait, if
// no worker joined by then, and schedules the next reminder. The timer's
// function takes d.mu; Upsert and Close stop it.
func (d *Dispatcher) remindLocked(wait time.Duration) {
	d.reminder = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.closed || !d.noneWarned || len(d.workers) > 0 {
			return
		}
		d.noneSaid, d.noneLogged = true, time.Now()
		d.log.Warn("still waiting for workers to join", "waited", time.Since(d.noneSince).Round(time.Second), "batches_waiting", d.waiting)
		d.remindLocked(min(2*wait, maxReminder))
	})
}

// passLocked logs, once per worker and required digest, that w gets no
// work from calls that require digest.
func (d *Dispatcher) passLocked(w *remote, digest string) {
	if d.passed[w.name] == digest {
		return
	}
	d.passed[w.name] = digest
	d.log.Warn("worker gets no work from a run: its evaluation digest is not the one the run started with",
		"worker", w.name, "worker_digest", w.digest, "run_digest", digest)
}

// matchingLocked counts the workers that advertise digest.
func (d *Dispatcher) matchingLocked(digest string) int {
	n := 0
	for _, w := range d.workers {
		if w.digest == digest {
			n++
		}
	}
	return n
}

// tryAcquireIdle reserves a free worker not in tried or avoid with the
// digest, only when no call is waiting for a slot: speculative duplicates
// use idle capacity only.
func (d *Dispatcher) tryAcquireIdle(tried, avoid map[string]bool, digest string) *remote {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.waiting > 0 {
		return nil
	}
	best, _ := d.pickLocked(time.Now(), tried, avoid, digest)
	if best == nil || tried[best.name] {
		return nil
	}
	d.reserveLocked(best)
	return best
}

type attemptTimeoutKey struct{}
type maxAttemptsKey struct{}
type evaluationDigestKey struct{}

// WithEvaluationDigest returns a context under which the Dispatcher sends
// a request only to workers that advertise the evaluation digest digest
// (worker.Meta.Digest): the run's, so that one run's results all come
// from one evaluation semantics. Workers of another digest are passed
// over (and logged once each), and a call waits while none has it. Empty:
// any worker. The digest routes the request; it is not part of it.
func WithEvaluationDigest(ctx context.Context, digest string) context.Context {
	return context.WithValue(ctx, evaluationDigestKey{}, digest)
}

// RequiredDigest returns the digest set by WithEvaluationDigest, or "".
func RequiredDigest(ctx context.Context) string {
	s, _ := ctx.Value(evaluationDigestKey{}).(string)
	return s
}

type noWaitKey struct{}

// ErrNoFreeWorker is the error of a call made under WithNoWait when no
// worker it may use has a free slot now (or every one is resting after a
// failure).
var ErrNoFreeWorker = errors.New("no worker free now")

// WithNoWait returns a context under which a call that finds no usable
// worker with a free slot fails at once with ErrNoFreeWorker instead of
// queueing: an audit's second opinion, which has somewhere else to go (the
// coordinator's own engine) rather than wait for a worker that just failed.
func WithNoWait(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWaitKey{}, true)
}

func noWait(ctx context.Context) bool { v, _ := ctx.Value(noWaitKey{}).(bool); return v }

type excludedKey struct{}

// WithExcludedWorkers returns a context under which the Dispatcher sends
// the request to no worker named in names (besides those excluded by the
// context already): an audit's "evaluate this on a worker other than the
// one that answered". A call with every worker excluded waits for another
// to join, or for ctx to end.
func WithExcludedWorkers(ctx context.Context, names ...string) context.Context {
	prev := excludedWorkers(ctx)
	set := make(map[string]bool, len(prev)+len(names))
	for n := range prev {
		set[n] = true
	}
	for _, n := range names {
		set[n] = true
	}
	return context.WithValue(ctx, excludedKey{}, set)
}

// excludedWorkers returns the set WithExcludedWorkers put in ctx (nil:
// none). It is shared: never modified.
func excludedWorkers(ctx context.Context) map[string]bool {
	set, _ := ctx.Value(excludedKey{}).(map[string]bool)
	return set
}

// WithAttemptTimeout returns a context under which the Dispatcher gives
// each call to a worker at most d before retrying elsewhere (the spec's
// evaluation_timeout), instead of its own default.
func WithAttemptTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, attemptTimeoutKey{}, d)
}

func attemptTimeout(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Value(attemptTimeoutKey{}).(time.Duration); ok && d > 0 {
		return d
	}
	return def
}

// WithMaxAttempts returns a context under which an Evaluator that retries
// (the Dispatcher) makes at most n failed calls for one request before it
// returns an error wrapping ErrAttemptsExhausted. Evaluate (the generation)
// sets it to the spec's quarantine_attempts.
func WithMaxAttempts(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, maxAttemptsKey{}, n)
}

// MaxAttempts returns the limit set by WithMaxAttempts, or def.
func MaxAttempts(ctx context.Context, def int) int {
	if n, ok := ctx.Value(maxAttemptsKey{}).(int); ok && n > 0 {
		return n
	}
	return def
}

// waitFor blocks until changed is closed, turn delivers (handed: got is
// what it delivered), wake has passed (if > 0) or ctx ends.
func waitFor(ctx context.Context, changed <-chan struct{}, turn <-chan *remote, wake time.Duration) (got *remote, handed bool, err error) {
	var timer <-chan time.Time
	if wake > 0 {
		t := time.NewTimer(wake)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-changed:
	case got = <-turn:
		return got, true, nil
	case <-timer:
	}
	return nil, false, nil
}

// release frees w's slot. A call that failed for w's own sake rests w,
// longer after each consecutive failure; a cancelled duplicate is neither
// failure nor success.
//
// evalNS is the batch's cost per slot as the worker reported it (0: not
// reported), which moves the worker's window; evaluated is the number of
// genomes a successful call evaluated, for the worker's counters.
func (d *Dispatcher) release(w *remote, err error, cancelled bool, took time.Duration, evalNS uint64, evaluated int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unlistLocked(w)
	w.inflight--
	switch {
	case err != nil && cancelled:
	case err != nil && workerAtFault(err):
		w.failures++
		w.restUntil = time.Now().Add(min(maxRest, time.Second<<min(w.failures-1, 5)))
	case err == nil:
		w.failures = 0
		w.batches++
		w.evaluated += uint64(evaluated)
		const alpha = 0.2
		if d.batchNS == 0 {
			d.batchNS = float64(took)
		} else {
			d.batchNS += alpha * (float64(took) - d.batchNS)
		}
		if evalNS > 0 {
			w.observeLocked(float64(evalNS))
		}
	}
	d.listLocked(w)
	if w.leaving && w.inflight == 0 {
		w.closeLocked()
		if d.draining[w.name] == w {
			delete(d.draining, w.name)
		}
	}
	d.handOnLocked()
}

// observeLocked moves w's batch cost E by a batch that cost e ns per slot
// (at once when slower, by a fifth of the difference when faster) and sets
// its window from it.
func (w *remote) observeLocked(e float64) {
	const alpha = 0.2
	if e > w.evalNS {
		w.evalNS = e
	} else {
		w.evalNS += alpha * (e - w.evalNS)
	}
	w.perSlot = min(maxPerSlot, max(minPerSlot, int(math.Ceil(float64(roundTrip)/w.evalNS))+1))
}

// workerAtFault reports whether a failed call says the worker is unwell
// (gone, hung, refusing) rather than that it answered with an error about
// the batch itself: only the former rests the worker.
func workerAtFault(err error) bool {
	switch status.Code(err) {
	case codes.OK, codes.Internal, codes.Unknown, codes.ResourceExhausted, codes.InvalidArgument:
		return false
	}
	return true // DataLoss among them: an answer that failed CheckResponse
}

// hedgeDelay is how long a call runs before a duplicate may go to an idle
// worker: three times the usual call, at least 50 ms, or half the deadline
// before any call has finished.
func (d *Dispatcher) hedgeDelay(timeout time.Duration) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.batchNS == 0 {
		return timeout / 2
	}
	return min(timeout/2, max(50*time.Millisecond, time.Duration(3*d.batchNS)))
}

// errTooLarge marks a call refused for its message size.
var errTooLarge = errors.New("message too large")

// Evaluate sends req to a worker, retrying on others until one answers,
// the context ends, or MaxAttempts(ctx) calls failed (the error then wraps
// ErrAttemptsExhausted). InvalidArgument answers are returned at once:
// another worker would refuse the same batch. A request over the message
// limit, or whose answer was, is split in halves.
//
// The request's shared fields travel once per worker and generation (see
// link); req.SessionDigest names them, and is computed here, once per
// call, when the caller left it empty: a caller sending many batches of
// one generation sets it once (worker.SessionDigest) and shares it.
func (d *Dispatcher) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	size := tasksSize(req.GetTasks())
	if len(req.GetTasks()) > 1 && size > d.maxMessage {
		return d.split(ctx, req)
	}
	resp, err := d.evaluate(ctx, req, size)
	if errors.Is(err, errTooLarge) && len(req.GetTasks()) > 1 {
		return d.split(ctx, req)
	}
	return resp, err
}

// tasksSize is the encoded size of a batch message carrying tasks, bytes.
func tasksSize(tasks []*pb.EvaluationTask) int {
	n := 64 // id, session digest, framing
	for _, t := range tasks {
		s := proto.Size(t)
		n += s + protowire.SizeVarint(uint64(s)) + 1
	}
	return n
}

// split evaluates the two halves of req's tasks and joins the answers in order.
func (d *Dispatcher) split(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	tasks := req.GetTasks()
	half := len(tasks) / 2
	parts := [2]*pb.EvaluateRequest{WithTasks(req, tasks[:half]), WithTasks(req, tasks[half:])}
	var resps [2]*pb.EvaluateResponse
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		g.Go(func() (err error) {
			resps[i], err = d.Evaluate(gctx, parts[i])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := &pb.EvaluateResponse{Worker: resps[0].GetWorker(), Results: append(resps[0].GetResults(), resps[1].GetResults()...)}
	if resps[0].GetWorker() != resps[1].GetWorker() || len(resps[0].GetResultWorkers())+len(resps[1].GetResultWorkers()) > 0 {
		out.Worker = ""
		for _, r := range resps {
			for i := range r.GetResults() {
				out.ResultWorkers = append(out.ResultWorkers, ResultWorker(r, i))
			}
		}
	}
	return out, nil
}

// ResultWorker returns the name of the worker that evaluated result i of
// resp: its result_workers entry when it has them, else its worker.
func ResultWorker(resp *pb.EvaluateResponse, i int) string {
	if ws := resp.GetResultWorkers(); len(ws) > 0 {
		if i < len(ws) {
			return ws[i]
		}
		return ""
	}
	return resp.GetWorker()
}

// WithTasks returns req with other tasks; the shared fields are not
// copied, so neither request may be modified afterwards.
func WithTasks(req *pb.EvaluateRequest, tasks []*pb.EvaluationTask) *pb.EvaluateRequest {
	return &pb.EvaluateRequest{ProtocolVersion: req.GetProtocolVersion(), RunId: req.GetRunId(), Generation: req.GetGeneration(),
		Environment: req.GetEnvironment(), Conditions: req.GetConditions(), SessionDigest: req.GetSessionDigest(), Tasks: tasks}
}

// evalState is one evaluate call's reusable state, pooled.
type evalState struct {
	out     chan outcome // cap 2: at most 2 attempts run at once, each delivers at most once
	tried   map[string]bool
	turn    waiter     // this call's place in its run's queue in acquire; tried is the above
	running []*attempt // at most 2
	// timer fires at armed (unix ns; 0: stopped): the earliest of the
	// running attempts' deadlines and hedgeAt, one timer for both.
	timer *time.Timer
	armed int64
	// hedgeAt is when a speculative duplicate may go out, unix ns; 0: none.
	hedgeAt int64
	// attempts holds every attempt this state made, reused: none is
	// referenced elsewhere once the evaluation returned (putState).
	attempts []*attempt
	used     int // attempts[:used] belong to the current evaluation
}

func (d *Dispatcher) getState() *evalState {
	if st, ok := d.states.Get().(*evalState); ok {
		return st
	}
	st := &evalState{out: make(chan outcome, 2), tried: map[string]bool{}, running: make([]*attempt, 0, 2), timer: time.NewTimer(time.Hour)}
	st.timer.Stop()
	st.turn = waiter{tried: st.tried, turn: make(chan *remote, 1)}
	return st
}

// putState abandons the attempts still running (their workers' slots are
// freed, their batches cancelled), receives any answer already on its way,
// and pools st.
func (d *Dispatcher) putState(st *evalState) {
	owed := 0
	for _, a := range st.running {
		if !a.l.abandon(a) {
			owed++
		}
		d.release(a.w, context.Canceled, true, 0, 0, 0)
	}
	for ; owed > 0; owed-- {
		<-st.out
	}
	if st.armed != 0 {
		st.timer.Stop()
	}
	st.armed, st.hedgeAt = 0, 0
	clear(st.tried)
	st.turn.run, st.turn.digest, st.turn.avoid = "", "", nil
	clear(st.running)
	st.running = st.running[:0]
	for _, a := range st.attempts[:st.used] {
		*a = attempt{}
	}
	st.used = 0
	d.states.Put(st)
}

// launch sends req to w (whose slot the caller reserved) as a new attempt.
func (d *Dispatcher) launch(st *evalState, w *remote, req *pb.EvaluateRequest, digest []byte, size int, timeout time.Duration, resent bool) {
	now := time.Now().UnixNano()
	d.mu.Lock()
	l := d.linkLocked(w)
	wait := int64(float64(w.inflight-1) * w.evalNS / float64(w.capacity)) // the batches ahead of this one
	d.mu.Unlock()
	if st.used == len(st.attempts) {
		st.attempts = append(st.attempts, new(attempt))
	}
	a := st.attempts[st.used]
	st.used++
	*a = attempt{w: w, out: st.out, start: now, deadline: now + wait + int64(timeout), resent: resent}
	st.running = append(st.running, a)
	st.tried[w.name] = true
	a.l = l
	l.send(a, req, digest, size)
}

// arm sets the timer to the earliest of the running attempts' deadlines
// and the hedge time, touching it only when that changed.
func (st *evalState) arm() {
	next := st.hedgeAt
	for _, a := range st.running {
		if next == 0 || a.deadline < next {
			next = a.deadline
		}
	}
	if next == st.armed {
		return
	}
	st.armed = next
	if next == 0 {
		st.timer.Stop()
		return
	}
	st.timer.Reset(time.Duration(next - time.Now().UnixNano()))
}

// expired withdraws the first running attempt past its deadline whose
// answer is not already on its way, or returns nil.
func (st *evalState) expired(now int64) *attempt {
	for _, a := range st.running {
		if a.deadline <= now && a.l.abandon(a) {
			return a
		}
	}
	return nil
}

func (st *evalState) remove(a *attempt) {
	if i := slices.Index(st.running, a); i >= 0 {
		st.running = slices.Delete(st.running, i, i+1)
	}
}

func (d *Dispatcher) evaluate(ctx context.Context, req *pb.EvaluateRequest, size int) (*pb.EvaluateResponse, error) {
	maxAttempts := MaxAttempts(ctx, d.maxAttempts)
	timeout := attemptTimeout(ctx, d.timeout)
	digest := req.GetSessionDigest()
	if len(digest) == 0 {
		digest = worker.SessionDigest(req)
	}
	st := d.getState()
	defer d.putState(st)
	st.turn.run = req.GetRunId()
	st.turn.digest = RequiredDigest(ctx)
	st.turn.avoid = excludedWorkers(ctx)
	failures := 0
	start := time.Now()
	w, err := d.acquire(ctx, &st.turn)
	if err != nil {
		return nil, err
	}
	d.launch(st, w, req, digest, size, timeout, false)
	armHedge := func() {
		if d.hedge {
			st.hedgeAt = time.Now().UnixNano() + int64(d.hedgeDelay(timeout))
		}
	}
	armHedge()
	st.arm()
	var last error
	for {
		var o outcome
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-st.timer.C:
			st.armed = 0
			now := time.Now().UnixNano()
			if st.hedgeAt != 0 && st.hedgeAt <= now {
				st.hedgeAt = 0
				if len(st.running) == 1 && failures+len(st.running) < maxAttempts {
					if w := d.tryAcquireIdle(st.tried, st.turn.avoid, st.turn.digest); w != nil {
						d.log.Info("batch slow; speculative duplicate to an idle worker", "worker", w.name, "generation", req.GetGeneration())
						d.obs.Hedged()
						d.launch(st, w, req, digest, size, timeout, false)
						st.arm()
						continue
					}
					armHedge()
				}
			}
			a := st.expired(now)
			if a == nil {
				st.arm()
				continue
			}
			o = outcome{a: a, err: status.Errorf(codes.DeadlineExceeded, "worker %s did not answer within %v", a.w.name, timeout)}
		case o = <-st.out:
		}
		st.remove(o.a)
		a := o.a
		var resp *pb.EvaluateResponse
		err := o.err
		if err == nil {
			if c := codes.Code(o.ans.GetCode()); c != codes.OK {
				err = status.Error(c, o.ans.GetMessage())
			} else {
				resp = &pb.EvaluateResponse{Results: o.ans.GetResults(), Worker: o.worker}
				err = CheckResponse(req, resp)
			}
		}
		if status.Code(err) == codes.NotFound && !a.resent {
			// The worker forgot the session (or never had it): send it
			// again with the batch, in the slot already held.
			a.l.forget(digest)
			d.launch(st, a.w, req, digest, size, timeout, true)
			st.arm()
			continue
		}
		d.release(a.w, err, false, time.Duration(time.Now().UnixNano()-a.start), o.ans.GetEvalNs(), len(resp.GetResults()))
		if err == nil {
			d.obs.BatchDone(time.Since(start))
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch status.Code(err) {
		case codes.InvalidArgument:
			return nil, err
		case codes.ResourceExhausted:
			if len(req.GetTasks()) > 1 {
				return nil, fmt.Errorf("%w: %v", errTooLarge, err)
			}
		case codes.Unavailable:
			if strings.Contains(err.Error(), worker.DrainingMessage) {
				// Refused before any work: not the batch's fault.
				d.dropIf(a.w.name, "", a.w, true)
				failures--
			}
		case codes.FailedPrecondition:
			d.log.Error("worker refused the protocol; dropping it", "worker", a.w.name, "err", err)
			d.dropIf(a.w.name, "", a.w, false)
		}
		failures++
		last = err
		d.log.Warn("batch failed; retrying on another worker", "worker", a.w.name, "attempt", failures, "generation", req.GetGeneration(), "err", err)
		if len(st.running) > 0 || failures < maxAttempts {
			d.obs.Retried()
		}
		if len(st.running) > 0 {
			armHedge() // the other copy may still answer, or need a duplicate
			st.arm()
			continue
		}
		if failures >= maxAttempts {
			return nil, fmt.Errorf("%w: batch of generation %d failed %d times: %w", ErrAttemptsExhausted, req.GetGeneration(), failures, last)
		}
		w, err := d.acquire(ctx, &st.turn)
		if err != nil {
			return nil, fmt.Errorf("%w (last worker error: %v)", err, last)
		}
		d.launch(st, w, req, digest, size, timeout, false)
		armHedge()
		st.arm()
	}
}

// Membership turns gossip events into dispatcher updates and logs name
// conflicts: it implements memberlist's EventDelegate and ConflictDelegate. memberlist calls it from its own goroutines, never
// concurrently for one node, while it holds its node lock: a
// *memberlist.Node is read during the call only.
type Membership struct {
	d   *Dispatcher
	log *slog.Logger

	mu        sync.Mutex
	conflicts map[string]string // name → the claimant last logged for it; lookup only
}

// NewMembership returns the gossip delegate that keeps d's workers current.
func NewMembership(d *Dispatcher, log *slog.Logger) *Membership {
	return &Membership{d: d, log: log, conflicts: map[string]string{}}
}

func (m *Membership) NotifyJoin(n *memberlist.Node) {
	m.mu.Lock()
	delete(m.conflicts, n.Name) // a new holder: a later conflict is news
	m.mu.Unlock()
	m.update(n)
}

func (m *Membership) NotifyUpdate(n *memberlist.Node) { m.update(n) }

// NotifyConflict implements memberlist.ConflictDelegate: other announces
// the name existing holds, from another address, and memberlist ignores
// it. That is a restarted process whose predecessor is not yet declared
// dead (it takes the name over then), or two live processes with one name,
// of which only existing is used: the operator must hear of it. Logged
// once per name and claimant, as memberlist reports every announcement.
func (m *Membership) NotifyConflict(existing, other *memberlist.Node) {
	claimant := other.Address()
	m.mu.Lock()
	seen := m.conflicts[existing.Name] == claimant
	m.conflicts[existing.Name] = claimant
	m.mu.Unlock()
	if seen {
		return
	}
	m.log.Warn("gossip name conflict: a member at another address announces a name in use and is ignored until the holder "+
		"is declared dead (a restarted process then takes the name over); if both stay alive, give each its own --name",
		"name", existing.Name, "holder", existing.Address(), "claimant", claimant)
}

// NotifyLeave drops a member, if the dispatcher still knows its name at
// the address that left. One that announced it was draining was already
// taken out of rotation by Drain, its in-flight calls left to finish; any
// other (dead, or gone before its drain was heard) loses them.
func (m *Membership) NotifyLeave(n *memberlist.Node) {
	addr := "" // unreadable metadata: whatever is known under the name goes
	if meta, err := worker.DecodeMeta(n.Meta); err == nil {
		addr = meta.GRPC
	}
	m.d.dropIf(n.Name, addr, nil, false)
}

func (m *Membership) update(n *memberlist.Node) {
	meta, err := worker.DecodeMeta(n.Meta)
	if err != nil {
		m.log.Warn("ignoring gossip member with unreadable metadata", "member", n.Name, "err", err)
		return
	}
	m.d.Upsert(n.Name, meta)
}

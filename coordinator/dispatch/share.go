package dispatch

import "slices"

// waiter is a call blocked in acquire, queued in its run's FIFO.
type waiter struct {
	tried map[string]bool
	turn  chan *remote // cap 1: the worker reserved for it, or nil: pick again
	run   string       // the request's run id; "" when it has none
	// digest is the evaluation digest the call requires (see
	// WithEvaluationDigest); "" when any worker will do.
	digest string
	// q is the run queue holding the waiter (nil: not queued), next and
	// prev its neighbours there: leaving the queue is O(1).
	q          *runQueue
	next, prev *waiter

	// avoid names the workers never to pick (WithExcludedWorkers); nil: none.
	avoid map[string]bool
}

// runQueue is one run's calls waiting in acquire, FIFO, linked through
// the waiters.
type runQueue struct {
	run        string
	head, tail *waiter
}

// enqueueLocked puts wt at the back of its run's queue. A run that had no
// call waiting joins the ring last in turn order.
func (d *Dispatcher) enqueueLocked(wt *waiter) {
	q := d.runs[wt.run]
	if q == nil {
		if n := len(d.spare); n > 0 {
			q, d.spare = d.spare[n-1], d.spare[:n-1]
		} else {
			q = new(runQueue)
		}
		q.run = wt.run
		d.runs[wt.run] = q
		// Just before the run whose turn is next: last in turn order.
		d.ring = slices.Insert(d.ring, d.turn, q)
		d.turn = (d.turn + 1) % len(d.ring)
	}
	wt.q, wt.prev, wt.next = q, q.tail, nil
	if q.tail != nil {
		q.tail.next = wt
	} else {
		q.head = wt
	}
	q.tail = wt
	d.waiting++
}

// dequeueLocked takes wt out of its run's queue: O(1), and O(runs
// waiting) when that leaves the run without waiting calls, which takes it
// out of the ring.
func (d *Dispatcher) dequeueLocked(wt *waiter) {
	q := wt.q
	if wt.prev != nil {
		wt.prev.next = wt.next
	} else {
		q.head = wt.next
	}
	if wt.next != nil {
		wt.next.prev = wt.prev
	} else {
		q.tail = wt.prev
	}
	wt.q, wt.prev, wt.next = nil, nil, nil
	d.waiting--
	if q.head != nil {
		return
	}
	i := slices.Index(d.ring, q)
	d.ring = slices.Delete(d.ring, i, i+1)
	if i < d.turn {
		d.turn--
	}
	if d.turn >= len(d.ring) {
		d.turn = 0
	}
	delete(d.runs, q.run)
	*q = runQueue{}
	d.spare = append(d.spare, q)
}

// nextWaiterLocked takes the first call of the run whose turn it is out of
// the queue and passes the turn on, that run going last; nil when no call
// waits.
func (d *Dispatcher) nextWaiterLocked() *waiter {
	if d.waiting == 0 {
		return nil
	}
	wt := d.ring[d.turn].head
	d.turn = (d.turn + 1) % len(d.ring)
	d.dequeueLocked(wt)
	return wt
}

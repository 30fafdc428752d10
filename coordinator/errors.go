package coordinator

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Errors of the run lifecycle; the store's (store.ErrNotFound,
// store.ErrFenced, store.ErrExists) pass through wrapped.
var (
	// ErrNotLeader: a run call reached a standby coordinator.
	ErrNotLeader = errors.New("not the leader")
	// ErrNotRunning: the run is not executing on this coordinator.
	ErrNotRunning = errors.New("not running")
	// ErrRunning: the run is already executing.
	ErrRunning = errors.New("already running")
	// ErrFinished: the run completed all its generations.
	ErrFinished = errors.New("already finished")
	// ErrNoMatchingWorker: workers are known, none of the run's
	// evaluation digest.
	ErrNoMatchingWorker = errors.New("no worker of the run's evaluation semantics")
)

// deterministic encodes m as the digests hash it: deterministic protobuf.
func deterministic(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", m, err)) // only for messages that cannot fail
	}
	return b
}

// unmarshal decodes a value read from etcd (a watch event) into m.
func unmarshal(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("corrupt %T: %w", m, err)
	}
	return nil
}

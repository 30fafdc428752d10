package worker

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// ProtocolVersion is the version of the coordinator–worker protocol: the
// Evaluate messages and their meaning. A coordinator refuses workers of
// another version, and a worker refuses requests of another version.
// Version 2: dispatch goes over EvaluateStream, a generation's shared
// fields sent once per worker as a session and batches referring to it by
// digest. Version 3: a stream remembers 64 sessions (streamSessions), so
// that the sessions of a sweep's concurrent runs stay known; a coordinator
// counts on 32 and sends at most 32 new ones per message.
const ProtocolVersion = 3

// Roles a gossip member announces.
const (
	RoleWorker      = "worker"
	RoleCoordinator = "coordinator"
)

// Meta is the gossip metadata a node announces: what the coordinator needs
// to route work to it. Encoded as JSON; it must fit memberlist's
// MetaMaxSize (512 bytes).
type Meta struct {
	Role     string `json:"role"`
	GRPC     string `json:"grpc,omitempty"`     // host:port of the Evaluator server
	Capacity int    `json:"capacity,omitempty"` // parallel evaluations, ≥ 1
	Protocol uint32 `json:"protocol"`
	Build    string `json:"build,omitempty"` // the worker's build (module version or VCS revision), for humans
	// Digest is a worker's evaluation digest (EvaluationDigest): a run
	// only sends work to workers whose digest is the one it started with.
	Digest string `json:"digest,omitempty"`
	// RunDigests, announced by a leading coordinator, are the evaluation
	// digests its running runs require, sorted and comma-separated, at
	// most MaxRunDigests: a worker with none of them logs why it gets no
	// work.
	RunDigests string `json:"run_digests,omitempty"`
	// Draining is announced by a worker shutting down (SIGTERM): send it
	// no more work, but let its in-flight calls finish.
	Draining bool `json:"draining,omitempty"`
}

// MaxRunDigests bounds Meta.RunDigests, so that the metadata fits.
const MaxRunDigests = 4

// ErrMetaTooLarge is returned by Encode when metadata exceeds memberlist's limit.
var ErrMetaTooLarge = errors.New("gossip metadata too large")

// Encode returns m as bytes, or ErrMetaTooLarge.
func (m Meta) Encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes, allowed %d", ErrMetaTooLarge, len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

// DecodeMeta parses gossip metadata.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("gossip metadata: %w", err)
	}
	return m, nil
}

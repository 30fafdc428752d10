package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/internal/localetcd"
)

// write retries what may pass (etcd unreachable) and stops at once on what
// cannot: a lost fence, and etcd's quota, which only an operator can lift.
func TestWriteRetriesOnlyWhatMayPass(t *testing.T) {
	c := &Coordinator{log: localetcd.Quiet()}
	c.term.Store(&term{fence: store.Fence{Key: "k", Rev: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name  string
		fail  error // every attempt but the third
		calls int
		want  string
	}{
		{"unavailable, then through", errors.New("etcdserver: request timed out"), 3, ""},
		{"fenced", store.ErrFenced, 1, "write refused"},
		{"quota", rpctypes.ErrNoSpace, 1, "reached its quota"},
	} {
		calls := 0
		err := c.write(ctx, tc.name, func(context.Context, store.Fence) error {
			if calls++; calls == 3 {
				return nil
			}
			return tc.fail
		})
		if calls != tc.calls || (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %d calls, err %v; want %d calls and %s", tc.name, calls, err, tc.calls, fmt.Sprintf("%q", tc.want))
		}
	}
}

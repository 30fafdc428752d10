package layering

import (
	"os/exec"
	"strings"
	"testing"
)

// pure are the packages that take inputs and random streams and return
// values (DESIGN.md, "The GA core is pure"); the messages package is pure
// too, since the service stubs live in mesaoptv1grpc.
var pure = []string{
	"github.com/mesaopt/mesaopt/genome",
	"github.com/mesaopt/mesaopt/fitness",
	"github.com/mesaopt/mesaopt/lineage",
	"github.com/mesaopt/mesaopt/behavior",
	"github.com/mesaopt/mesaopt/sweep",
	"github.com/mesaopt/mesaopt/experiment",
	"github.com/mesaopt/mesaopt/coordinator/ga",
	"github.com/mesaopt/mesaopt/internal/stream",
	"github.com/mesaopt/mesaopt/proto/mesaopt/v1",
}

// forbidden are the module paths of the I/O the pure packages must not reach.
var forbidden = []string{"google.golang.org/grpc", "go.etcd.io/", "github.com/hashicorp/memberlist"}

func TestPurePackagesDoNotDependOnIO(t *testing.T) {
	for _, pkg := range pure {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

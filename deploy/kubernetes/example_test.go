package manifests_test

import (
	"fmt"

	manifests "github.com/mesaopt/mesaopt/deploy/kubernetes"
)

// A Service whose selector matches no pod template is reported with the
// rule it breaks.
func Example() {
	set, err := manifests.Decode([]byte(`
apiVersion: v1
kind: Service
metadata:
  name: lonely
  labels:
    app.kubernetes.io/part-of: mesaopt
spec:
  selector:
    app.kubernetes.io/component: nobody
  ports:
    - port: 80
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range manifests.Check(set) {
		fmt.Println(p.Rule, "-", p.Object)
	}
	// Output:
	// selects no pod - Service/lonely
}

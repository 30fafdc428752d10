package manifests_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	manifests "github.com/mesaopt/mesaopt/deploy/kubernetes"
	"sigs.k8s.io/yaml"
)

// secretFiles are the files `mesaopt certs init secrets` and
// `mesaopt gossip-key > secrets/gossip.key` make, with placeholder
// contents: the test checks wiring, not cryptography. All are written, so
// a generator that picked up ca-key.pem would be caught.
var secretFiles = []string{
	"ca.pem", "ca-key.pem",
	"coordinator.pem", "coordinator-key.pem",
	"worker.pem", "worker-key.pem",
	"operator.pem", "operator-key.pem",
	"read-only.pem", "read-only-key.pem",
	"gossip.key",
}

// overlay is what a user adding the optional HPA writes: the base plus
// worker-hpa.yaml, copied beside it.
const overlay = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
  - worker-hpa.yaml
`

// tree returns the manifests of this directory as a base under "base/",
// with placeholder secrets, and the HPA overlay under "hpa/".
func tree(t testing.TB) map[string]string {
	t.Helper()
	files, err := manifests.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, text := range files {
		out["base/"+name] = text
	}
	for _, f := range secretFiles {
		out["base/secrets/"+f] = "placeholder for " + f + "\n"
	}
	out["hpa/kustomization.yaml"] = overlay
	out["hpa/worker-hpa.yaml"] = files["worker-hpa.yaml"]
	return out
}

// build renders root ("base" or "hpa") of files, decodes and checks it.
func build(files map[string]string, root string) (*manifests.Set, []manifests.Problem, error) {
	out, err := manifests.Render(files, root)
	if err != nil {
		return nil, nil, err
	}
	set, err := manifests.Decode(out)
	if err != nil {
		return nil, nil, err
	}
	return set, manifests.Check(set), nil
}

func TestBase(t *testing.T) {
	set, problems, err := build(tree(t), "base")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	counts := map[string][2]int{
		"Service":             {len(set.Services), 3},
		"Secret":              {len(set.Secrets), 2},
		"Deployment":          {len(set.Deployments), 2},
		"StatefulSet":         {len(set.StatefulSets), 1},
		"PodDisruptionBudget": {len(set.PDBs), 2},
		"NetworkPolicy":       {len(set.NetworkPolicies), 3},
		"HPA":                 {len(set.HPAs), 0},
	}
	for kind, c := range counts {
		if c[0] != c[1] {
			t.Errorf("%d %s objects, want %d", c[0], kind, c[1])
		}
	}
	for _, s := range set.Secrets {
		keys := slices.Sorted(maps.Keys(s.Data))
		var want []string
		switch s.Name {
		case "mesaopt-tls":
			want = []string{"ca.pem", "coordinator-key.pem", "coordinator.pem", "worker-key.pem", "worker.pem"}
		case "mesaopt-gossip":
			want = []string{"key"}
		}
		if !slices.Equal(keys, want) {
			t.Errorf("Secret %s keys %v, want %v", s.Name, keys, want)
		}
	}
}

func TestBaseWithHPA(t *testing.T) {
	set, problems, err := build(tree(t), "hpa")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(set.HPAs) != 1 || set.HPAs[0].Spec.ScaleTargetRef.Name != "mesaopt-worker" {
		t.Errorf("HPAs %v, want one scaling mesaopt-worker", set.HPAs)
	}
}

// TestEveryFileIsUsed keeps files from lying beside the base unused: each
// YAML file is a resource of kustomization.yaml, or the optional HPA.
func TestEveryFileIsUsed(t *testing.T) {
	files, err := manifests.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal([]byte(files["kustomization.yaml"]), &k); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if !strings.HasSuffix(name, ".yaml") || name == "kustomization.yaml" {
			continue
		}
		if in := slices.Contains(k.Resources, name); in == (name == "worker-hpa.yaml") {
			t.Errorf("%s: in resources %v, want %v", name, in, !in)
		}
	}
}

// edit is a textual change to one file; old must occur in it.
type edit struct{ file, old, new string }

// TestMutations breaks the good manifests one way at a time and asserts
// that the break is reported as the specific problem (or decoding error)
// it is, naming the object it is in.
func TestMutations(t *testing.T) {
	podIP := "            - name: POD_IP\n              valueFrom:\n                fieldRef:\n                  fieldPath: status.podIP\n"
	cases := []struct {
		name   string
		root   string // "base" unless set
		edits  []edit
		object string // Problem.Object prefix
		rule   string // Problem.Rule; empty when err is expected
		err    string // a render or decode error containing this
	}{
		{
			name:   "Service selector label",
			edits:  []edit{{"coordinator.yaml", "  selector:\n    app.kubernetes.io/name: mesaopt\n    app.kubernetes.io/component: coordinator\n  ports:", "  selector:\n    app.kubernetes.io/name: mesaopt\n    app.kubernetes.io/component: coordinater\n  ports:"}},
			object: "Service/mesaopt-coordinator", rule: manifests.RuleSelectsNone,
		},
		{
			name:   "gossip Service selector label",
			edits:  []edit{{"gossip.yaml", `mesaopt.dev/gossip: "true"`, `mesaopt.dev/gossip: "yes"`}},
			object: "Service/mesaopt-gossip", rule: manifests.RuleSelectsNone,
		},
		{
			name:   "Deployment selector not matching its template",
			edits:  []edit{{"worker.yaml", "matchLabels:\n      app.kubernetes.io/name: mesaopt\n      app.kubernetes.io/component: worker\n  template:", "matchLabels:\n      app.kubernetes.io/name: mesaopt\n      app.kubernetes.io/component: workers\n  template:"}},
			object: "Deployment/mesaopt-worker", rule: manifests.RuleSelector,
		},
		{
			name:   "targetPort name no pod has",
			edits:  []edit{{"coordinator.yaml", "targetPort: grpc", "targetPort: grpcs"}},
			object: "Service/mesaopt-coordinator", rule: manifests.RuleTargetPort,
		},
		{
			name:   "targetPort number no pod has",
			edits:  []edit{{"coordinator.yaml", "targetPort: grpc", "targetPort: 7071"}},
			object: "Service/mesaopt-coordinator", rule: manifests.RuleTargetPort,
		},
		{
			name:   "targetPort protocol differs",
			edits:  []edit{{"gossip.yaml", "targetPort: gossip-udp\n      protocol: UDP", "targetPort: gossip-udp\n      protocol: TCP"}},
			object: "Service/mesaopt-gossip", rule: manifests.RuleTargetPort,
		},
		{
			name:   "StatefulSet service not headless",
			edits:  []edit{{"etcd.yaml", "  clusterIP: None\n", ""}},
			object: "StatefulSet/etcd", rule: manifests.RuleHeadless,
		},
		{
			name:   "NetworkPolicy port no pod has",
			edits:  []edit{{"networkpolicy.yaml", "port: 7071", "port: 7072"}},
			object: "NetworkPolicy/mesaopt-worker", rule: manifests.RulePolicyPort,
		},
		{
			name:   "NetworkPolicy from-selector selects nothing",
			edits:  []edit{{"networkpolicy.yaml", "component: coordinator\n      ports:\n        - port: 7071", "component: coordinators\n      ports:\n        - port: 7071"}},
			object: "NetworkPolicy/mesaopt-worker", rule: manifests.RuleSelectsNone,
		},
		{
			name:   "PDB selects nothing",
			edits:  []edit{{"etcd.yaml", "maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: mesaopt\n      app.kubernetes.io/component: etcd", "maxUnavailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: mesaopt\n      app.kubernetes.io/component: etc"}},
			object: "PodDisruptionBudget/etcd", rule: manifests.RuleSelectsNone,
		},
		{
			name:   "probe port no container port",
			edits:  []edit{{"etcd.yaml", "path: /readyz\n              port: client", "path: /readyz\n              port: metrics"}},
			object: "StatefulSet/etcd container etcd", rule: manifests.RuleProbePort,
		},
		{
			name:   "referenced Secret renamed",
			edits:  []edit{{"kustomization.yaml", "- name: mesaopt-gossip", "- name: mesaopt-gossip-key"}},
			object: "Deployment/mesaopt-coordinator volume gossip", rule: manifests.RuleSecret,
		},
		{
			name:   "Secret key missing",
			edits:  []edit{{"worker.yaml", "- key: worker-key.pem", "- key: worker.key"}},
			object: "Deployment/mesaopt-worker volume tls", rule: manifests.RuleSecret,
		},
		{
			name:   "CA key in the Secret",
			edits:  []edit{{"kustomization.yaml", "      - secrets/ca.pem\n", "      - secrets/ca.pem\n      - secrets/ca-key.pem\n"}},
			object: "Secret/mesaopt-tls", rule: manifests.RuleKeyMaterial,
		},
		{
			name:   "env names a file the mount lacks",
			edits:  []edit{{"worker.yaml", "value: /etc/mesaopt/tls/worker-key.pem", "value: /etc/mesaopt/tls/coordinator-key.pem"}},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleFile,
		},
		{
			name:   "secret files unreadable by the user",
			edits:  []edit{{"coordinator.yaml", "defaultMode: 0440", "defaultMode: 0400"}},
			object: "Deployment/mesaopt-coordinator volume tls", rule: manifests.RuleFile,
		},
		{
			name:   "volumeMount names no volume",
			edits:  []edit{{"worker.yaml", "- name: tmp\n              mountPath: /tmp", "- name: scratch\n              mountPath: /tmp"}},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleVolumeMount,
		},
		{
			name: "$(VAR) used before it is defined",
			edits: []edit{
				{"worker.yaml", podIP, ""},
				{"worker.yaml", "            - name: MESAOPT_JOIN\n", podIP + "            - name: MESAOPT_JOIN\n"},
			},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleVarOrder,
		},
		{
			name:   "$(VAR) never defined",
			edits:  []edit{{"etcd.yaml", "http://$(ETCD_NAME).etcd:2380", "http://$(ETCD_NAM).etcd:2380"}},
			object: "StatefulSet/etcd container etcd", rule: manifests.RuleVarOrder,
		},
		{
			name:   "no memory request",
			edits:  []edit{{"worker.yaml", "              cpu: \"1\"\n              memory: 256Mi\n", "              cpu: \"1\"\n"}},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleResources,
		},
		{
			name:   "writable root file system",
			edits:  []edit{{"etcd.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"}},
			object: "StatefulSet/etcd container etcd", rule: manifests.RuleSecurity,
		},
		{
			name:   "service links left on",
			edits:  []edit{{"worker.yaml", "      enableServiceLinks: false\n", ""}},
			object: "Deployment/mesaopt-worker", rule: manifests.RuleServiceLinks,
		},
		{
			name:   "coordinator liveness asks for leadership",
			edits:  []edit{{"coordinator.yaml", `"--live", `, ""}},
			object: "Deployment/mesaopt-coordinator container coordinator", rule: manifests.RuleProbe,
		},
		{
			name:   "worker probe not exec",
			edits:  []edit{{"worker.yaml", "          readinessProbe:\n            exec:\n              command: [\"/mesaopt\", \"health\", \"127.0.0.1:7071\"]", "          readinessProbe:\n            tcpSocket:\n              port: grpc"}},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleProbe,
		},
		{
			name:   "probe dials another port",
			edits:  []edit{{"coordinator.yaml", `command: ["/mesaopt", "health", "127.0.0.1:7070"]`, `command: ["/mesaopt", "health", "127.0.0.1:7071"]`}},
			object: "Deployment/mesaopt-coordinator container coordinator", rule: manifests.RuleProbe,
		},
		{
			name:   "worker runs another command",
			edits:  []edit{{"worker.yaml", `command: ["/mesaopt", "worker"]`, `command: ["/mesaopt", "coordinator"]`}},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleProbe,
		},
		{
			name:   "advertised port not the container port",
			edits:  []edit{{"worker.yaml", "value: $(POD_IP):7071", "value: $(POD_IP):7070"}},
			object: "Deployment/mesaopt-worker container worker", rule: manifests.RuleAddress,
		},
		{
			name:   "budget on coordinators",
			edits:  []edit{{"coordinator.yaml", "apiVersion: apps/v1\n", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: mesaopt-coordinator\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/component: coordinator\n---\napiVersion: apps/v1\n"}},
			object: "PodDisruptionBudget/mesaopt-coordinator", rule: manifests.RuleLeader,
		},
		{
			name:   "coordinator rollout waits for readiness",
			edits:  []edit{{"coordinator.yaml", "maxUnavailable: 100%", "maxUnavailable: 1"}},
			object: "Deployment/mesaopt-coordinator", rule: manifests.RuleLeader,
		},
		{
			name:   "namespace in the base",
			edits:  []edit{{"kustomization.yaml", "kind: Kustomization\n", "kind: Kustomization\nnamespace: prod\n"}},
			object: "Service/etcd", rule: manifests.RuleNamespace,
		},
		{
			name:   "part-of label",
			edits:  []edit{{"kustomization.yaml", "app.kubernetes.io/part-of: mesaopt", "app.kubernetes.io/part-of: other"}},
			object: "Deployment/mesaopt-worker", rule: manifests.RuleLabels,
		},
		{
			name:   "HPA targets a missing Deployment",
			root:   "hpa",
			edits:  []edit{{"worker-hpa.yaml", "name: mesaopt-worker\n  minReplicas", "name: mesaopt-workers\n  minReplicas"}},
			object: "HorizontalPodAutoscaler/mesaopt-worker", rule: manifests.RuleScaleTarget,
		},
		{
			name:  "unknown field",
			edits: []edit{{"etcd.yaml", "podManagementPolicy: Parallel", "podManagmentPolicy: Parallel"}},
			err:   `unknown field "spec.podManagmentPolicy"`,
		},
		{
			name:  "field name in the wrong case",
			edits: []edit{{"worker.yaml", "  replicas: 3\n", "  Replicas: 3\n"}},
			err:   `unknown field "spec.Replicas"`,
		},
		{
			name:  "unknown kind",
			edits: []edit{{"etcd.yaml", "apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n"}},
			err:   "policy/v1beta1 PodDisruptionBudget/etcd: unknown kind",
		},
		{
			name:  "secret file missing",
			edits: []edit{{"kustomization.yaml", "secrets/worker.pem", "secrets/worker.crt"}},
			err:   "worker.crt",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root
			if root == "" {
				root = "base"
			}
			files := tree(t)
			for _, e := range tc.edits {
				name := "base/" + e.file
				if root == "hpa" {
					name = "hpa/" + e.file
				}
				if !strings.Contains(files[name], e.old) {
					t.Fatalf("%s does not contain %q: the mutation would change nothing", name, e.old)
				}
				files[name] = strings.Replace(files[name], e.old, e.new, 1)
			}
			_, problems, err := build(files, root)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				if p.Rule == tc.rule && strings.HasPrefix(p.Object, tc.object) {
					t.Log(p)
					return
				}
			}
			t.Errorf("no %q problem for %s; got %v", tc.rule, tc.object, problems)
		})
	}
}

func TestDecodeUnknownKind(t *testing.T) {
	_, err := manifests.Decode([]byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"))
	if !errors.Is(err, manifests.ErrUnknownKind) {
		t.Fatalf("err %v, want ErrUnknownKind", err)
	}
}

func TestDecodeDuplicateKey(t *testing.T) {
	_, err := manifests.Decode([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n"))
	if err == nil {
		t.Fatal("a duplicate key decoded")
	}
}

// FuzzDecode feeds Decode and Check arbitrary documents: they may refuse
// them but must not panic.
func FuzzDecode(f *testing.F) {
	out, err := manifests.Render(tree(f), "base")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(out)
	f.Add([]byte("apiVersion: v1\nkind: Service\nspec:\n  ports: [{targetPort: x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if set, err := manifests.Decode(data); err == nil {
			manifests.Check(set)
		}
	})
}

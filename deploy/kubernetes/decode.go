// Package manifests checks mesaopt's Kubernetes manifests without a
// cluster: Render builds the kustomization in memory with kustomize's own
// library, Decode reads the rendered documents strictly into the upstream
// API types, and Check cross-checks the objects against each other (that
// selectors select, ports, secrets and volumes exist, variables are
// defined before use).
//
// The lifecycle is one pass:
//
//	files, _ := manifests.ReadDir("deploy/kubernetes")
//	yaml, _ := manifests.Render(files, ".")
//	set, _ := manifests.Decode(yaml)
//	for _, p := range manifests.Check(set) { ... }
//
// Nothing here talks to a cluster; what the API server would additionally
// validate (field formats, defaulting, admission) is not checked.
package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// ErrUnknownKind is wrapped by Decode for a document whose apiVersion and
// kind are not one of the types Set holds.
var ErrUnknownKind = errors.New("unknown kind")

// Set holds decoded objects by kind, each slice in document order.
type Set struct {
	Services        []*corev1.Service
	Secrets         []*corev1.Secret
	ConfigMaps      []*corev1.ConfigMap
	Deployments     []*appsv1.Deployment
	StatefulSets    []*appsv1.StatefulSet
	PDBs            []*policyv1.PodDisruptionBudget
	NetworkPolicies []*networkingv1.NetworkPolicy
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
}

// Len is the number of objects in s.
func (s *Set) Len() int {
	return len(s.Services) + len(s.Secrets) + len(s.ConfigMaps) + len(s.Deployments) +
		len(s.StatefulSets) + len(s.PDBs) + len(s.NetworkPolicies) + len(s.HPAs)
}

// Decode splits data into YAML documents and decodes each strictly into
// the type its apiVersion and kind name: an unknown or misspelt field
// (field names are matched case-sensitively), a duplicate key, or a kind
// outside Set is an error naming the document's position (1-based) and
// kind/name. Empty documents are skipped.
func Decode(data []byte) (*Set, error) {
	s := &Set{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		if err := s.decodeOne(doc); err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
	}
}

func (s *Set) decodeOne(doc []byte) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	if string(bytes.TrimSpace(js)) == "null" {
		return nil
	}
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
		return err
	}
	what := head.APIVersion + " " + head.Kind + "/" + head.Metadata.Name
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "v1 Service":
		obj = add(&s.Services)
	case "v1 Secret":
		obj = add(&s.Secrets)
	case "v1 ConfigMap":
		obj = add(&s.ConfigMaps)
	case "apps/v1 Deployment":
		obj = add(&s.Deployments)
	case "apps/v1 StatefulSet":
		obj = add(&s.StatefulSets)
	case "policy/v1 PodDisruptionBudget":
		obj = add(&s.PDBs)
	case "networking.k8s.io/v1 NetworkPolicy":
		obj = add(&s.NetworkPolicies)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = add(&s.HPAs)
	default:
		return fmt.Errorf("%s: %w", what, ErrUnknownKind)
	}
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("%s: strict decoding: %w", what, errors.Join(strict...))
	}
	return nil
}

// add appends a new zero object to *list and returns it.
func add[T any](list *[]*T) *T {
	v := new(T)
	*list = append(*list, v)
	return v
}

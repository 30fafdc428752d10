package manifests

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The rules Check applies; each Problem carries one, and tests match them.
const (
	RuleDuplicate    = "duplicate object"
	RuleNamespace    = "namespace set"
	RuleLabels       = "labels"
	RuleSelector     = "selector"
	RuleSelectsNone  = "selects no pod"
	RuleTargetPort   = "target port"
	RulePolicyPort   = "policy port"
	RuleProbePort    = "probe port"
	RuleHeadless     = "headless service"
	RuleSecret       = "secret"
	RuleConfigMap    = "configmap"
	RuleVolumeMount  = "volume mount"
	RuleFile         = "file"
	RuleVarOrder     = "variable reference"
	RuleResources    = "resources"
	RuleSecurity     = "security context"
	RuleServiceLinks = "service links"
	RuleProbe        = "mesaopt probe"
	RuleAddress      = "mesaopt address"
	RuleLeader       = "leader"
	RuleScaleTarget  = "scale target"
	RuleKeyMaterial  = "key material"
)

// Label keys and values the base uses.
const (
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	LabelGossip    = "mesaopt.dev/gossip"
	Project        = "mesaopt"
)

// Problem is one inconsistency found by Check.
type Problem struct {
	Object string // Kind/name, with the container where one is meant
	Rule   string // one of the Rule constants
	Detail string
}

func (p Problem) Error() string { return p.Object + ": " + p.Rule + ": " + p.Detail }

// pod is a pod template and the workload that owns it.
type pod struct {
	owner  string // Kind/name
	labels map[string]string
	spec   *corev1.PodSpec
	claims []string // StatefulSet volumeClaimTemplates, usable as volumes
}

type checker struct {
	s        *Set
	pods     []pod
	secrets  map[string]*corev1.Secret
	configs  map[string]*corev1.ConfigMap
	services map[string]*corev1.Service
	problems []Problem
}

func (c *checker) add(object, rule, format string, args ...any) {
	c.problems = append(c.problems, Problem{Object: object, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// Check cross-checks the objects of s and returns every problem found, in
// a deterministic order; none means the set is consistent. It checks that:
//
//   - no two objects share a kind and name, none sets a namespace, and
//     every object and pod template carries app.kubernetes.io/part-of;
//     workloads and their pods carry app.kubernetes.io/name and component;
//   - a workload's selector matches its own template; every Service, PDB
//     and NetworkPolicy selector (and each from-podSelector) selects at
//     least one pod template;
//   - every Service targetPort exists, by name or number and with the same
//     protocol, on every pod template the Service selects; every
//     NetworkPolicy port on every pod it selects; every probe port on its
//     container; a StatefulSet's serviceName names a headless Service
//     selecting its pods;
//   - every Secret and ConfigMap a volume, env or envFrom names exists and
//     holds the keys asked for; every volumeMount names a volume; an env
//     value that is an absolute path under a secret mount names a file the
//     volume projects, and the process can read it (mode and fsGroup);
//   - $(VAR) in an env value names a variable defined earlier in the same
//     container, and in command or args one defined in it at all;
//   - every container requests cpu and memory, runs as non-root with a
//     read-only root file system, no privilege escalation and no
//     capabilities; pods disable service links;
//   - coordinator and worker containers run `/mesaopt coordinator` or
//     `/mesaopt worker`, probe with exec `/mesaopt health` on their gRPC
//     port (readiness without --live, coordinator liveness with it), and
//     their MESAOPT_* addresses agree with their container ports;
//   - coordinators, of which only the leader is ever ready, are covered by
//     no PodDisruptionBudget and roll out without waiting for readiness;
//   - an HPA's scaleTargetRef names a workload of the set whose containers
//     request what it scales on;
//   - no Secret holds a CA private key.
func Check(s *Set) []Problem {
	c := &checker{
		s:        s,
		secrets:  map[string]*corev1.Secret{},
		configs:  map[string]*corev1.ConfigMap{},
		services: map[string]*corev1.Service{},
	}
	for _, d := range s.Deployments {
		c.pods = append(c.pods, pod{owner: "Deployment/" + d.Name, labels: d.Spec.Template.Labels, spec: &d.Spec.Template.Spec})
	}
	for _, st := range s.StatefulSets {
		p := pod{owner: "StatefulSet/" + st.Name, labels: st.Spec.Template.Labels, spec: &st.Spec.Template.Spec}
		for _, t := range st.Spec.VolumeClaimTemplates {
			p.claims = append(p.claims, t.Name)
		}
		c.pods = append(c.pods, p)
	}
	for _, x := range s.Secrets {
		c.secrets[x.Name] = x
	}
	for _, x := range s.ConfigMaps {
		c.configs[x.Name] = x
	}
	for _, x := range s.Services {
		c.services[x.Name] = x
	}
	c.objects()
	c.workloads()
	c.servicesCheck()
	c.budgets()
	c.policies()
	for _, p := range c.pods {
		c.podSpec(p)
	}
	c.leader()
	c.autoscalers()
	return c.problems
}

// objects checks names, namespaces, labels and key material.
func (c *checker) objects() {
	seen := map[string]bool{}
	meta := func(kind string, m metav1.ObjectMeta) {
		id := kind + "/" + m.Name
		if seen[id] {
			c.add(id, RuleDuplicate, "declared twice")
		}
		seen[id] = true
		if m.Namespace != "" {
			c.add(id, RuleNamespace, "namespace %q: the base leaves the namespace to its user", m.Namespace)
		}
		if m.Labels[LabelPartOf] != Project {
			c.add(id, RuleLabels, "%s is %q, want %q", LabelPartOf, m.Labels[LabelPartOf], Project)
		}
	}
	for _, x := range c.s.Services {
		meta("Service", x.ObjectMeta)
	}
	for _, x := range c.s.Secrets {
		meta("Secret", x.ObjectMeta)
		for _, k := range sortedKeys(keysOf(x)) {
			if strings.HasSuffix(k, "ca-key.pem") {
				c.add("Secret/"+x.Name, RuleKeyMaterial, "key %q is the CA's private key; keep it out of the cluster", k)
			}
		}
	}
	for _, x := range c.s.ConfigMaps {
		meta("ConfigMap", x.ObjectMeta)
	}
	for _, x := range c.s.Deployments {
		meta("Deployment", x.ObjectMeta)
	}
	for _, x := range c.s.StatefulSets {
		meta("StatefulSet", x.ObjectMeta)
	}
	for _, x := range c.s.PDBs {
		meta("PodDisruptionBudget", x.ObjectMeta)
	}
	for _, x := range c.s.NetworkPolicies {
		meta("NetworkPolicy", x.ObjectMeta)
	}
	for _, x := range c.s.HPAs {
		meta("HorizontalPodAutoscaler", x.ObjectMeta)
	}
}

// workloads checks each workload's selector against its own template and
// the labels every mesaopt pod carries.
func (c *checker) workloads() {
	check := func(id string, objLabels map[string]string, sel *metav1.LabelSelector, p pod) {
		for _, l := range []map[string]string{objLabels, p.labels} {
			if l[LabelName] != Project || !slices.Contains([]string{"etcd", "coordinator", "worker"}, l[LabelComponent]) {
				c.add(id, RuleLabels, "%s=%q %s=%q, want %s and one of etcd, coordinator, worker", LabelName, l[LabelName], LabelComponent, l[LabelComponent], Project)
			}
		}
		if p.labels[LabelPartOf] != Project {
			c.add(id, RuleLabels, "pod template %s is %q, want %q", LabelPartOf, p.labels[LabelPartOf], Project)
		}
		s, err := selector(sel)
		switch {
		case err != nil:
			c.add(id, RuleSelector, "%v", err)
		case s.Empty():
			c.add(id, RuleSelector, "empty selector would adopt every pod")
		case !s.Matches(labels.Set(p.labels)):
			c.add(id, RuleSelector, "selector %s does not match its template labels %v", s, p.labels)
		}
	}
	i := 0
	for _, d := range c.s.Deployments {
		check("Deployment/"+d.Name, d.Labels, d.Spec.Selector, c.pods[i])
		i++
	}
	for _, st := range c.s.StatefulSets {
		check("StatefulSet/"+st.Name, st.Labels, st.Spec.Selector, c.pods[i])
		i++
		id := "StatefulSet/" + st.Name
		svc, ok := c.services[st.Spec.ServiceName]
		switch {
		case !ok:
			c.add(id, RuleHeadless, "serviceName %q names no Service", st.Spec.ServiceName)
		case svc.Spec.ClusterIP != corev1.ClusterIPNone:
			c.add(id, RuleHeadless, "Service %q is not headless (clusterIP %q)", svc.Name, svc.Spec.ClusterIP)
		case len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(st.Spec.Template.Labels)):
			c.add(id, RuleHeadless, "Service %q does not select this StatefulSet's pods", svc.Name)
		}
	}
}

// selector converts a LabelSelector; nil selects nothing.
func selector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(ls)
}

// selected returns the pods s matches.
func (c *checker) selected(s labels.Selector) []pod {
	var out []pod
	for _, p := range c.pods {
		if s.Matches(labels.Set(p.labels)) {
			out = append(out, p)
		}
	}
	return out
}

// servicesCheck checks that each Service selects pods that have its ports.
func (c *checker) servicesCheck() {
	for _, svc := range c.s.Services {
		id := "Service/" + svc.Name
		if len(svc.Spec.Selector) == 0 {
			c.add(id, RuleSelectsNone, "no selector")
			continue
		}
		pods := c.selected(labels.SelectorFromSet(svc.Spec.Selector))
		if len(pods) == 0 {
			c.add(id, RuleSelectsNone, "selector %v matches no pod template", svc.Spec.Selector)
		}
		for _, sp := range svc.Spec.Ports {
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			for _, p := range pods {
				if !hasPort(p.spec.Containers, target, proto(sp.Protocol)) {
					c.add(id, RuleTargetPort, "port %q: targetPort %s/%s is no container port of %s", sp.Name, target.String(), proto(sp.Protocol), p.owner)
				}
			}
		}
	}
}

// budgets checks that each PodDisruptionBudget selects pods.
func (c *checker) budgets() {
	for _, b := range c.s.PDBs {
		id := "PodDisruptionBudget/" + b.Name
		s, err := selector(b.Spec.Selector)
		if err != nil {
			c.add(id, RuleSelector, "%v", err)
			continue
		}
		if len(c.selected(s)) == 0 {
			c.add(id, RuleSelectsNone, "selector %s matches no pod template", s)
		}
	}
}

// policies checks NetworkPolicy selectors and that their ports exist on
// the pods they protect.
func (c *checker) policies() {
	for _, np := range c.s.NetworkPolicies {
		id := "NetworkPolicy/" + np.Name
		s, err := selector(&np.Spec.PodSelector)
		if err != nil {
			c.add(id, RuleSelector, "%v", err)
			continue
		}
		pods := c.selected(s)
		if len(pods) == 0 {
			c.add(id, RuleSelectsNone, "podSelector %s matches no pod template", s)
		}
		for i, rule := range np.Spec.Ingress {
			for _, from := range rule.From {
				if from.PodSelector == nil {
					continue
				}
				fs, err := selector(from.PodSelector)
				if err != nil {
					c.add(id, RuleSelector, "ingress %d: %v", i, err)
				} else if len(c.selected(fs)) == 0 {
					c.add(id, RuleSelectsNone, "ingress %d: from podSelector %s matches no pod template", i, fs)
				}
			}
			for _, np := range rule.Ports {
				if np.Port == nil {
					continue
				}
				for _, p := range pods {
					if !hasPortRange(p.spec.Containers, *np.Port, np.EndPort, protoPtr(np.Protocol)) {
						c.add(id, RulePolicyPort, "ingress %d: port %s/%s is no container port of %s", i, np.Port.String(), protoPtr(np.Protocol), p.owner)
					}
				}
			}
		}
	}
}

func proto(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func protoPtr(p *corev1.Protocol) corev1.Protocol {
	if p == nil {
		return corev1.ProtocolTCP
	}
	return proto(*p)
}

// hasPort reports whether a container declares port (a name or a number)
// with protocol.
func hasPort(cs []corev1.Container, port intstr.IntOrString, protocol corev1.Protocol) bool {
	return hasPortRange(cs, port, nil, protocol)
}

func hasPortRange(cs []corev1.Container, port intstr.IntOrString, end *int32, protocol corev1.Protocol) bool {
	for _, ct := range cs {
		for _, cp := range ct.Ports {
			if proto(cp.Protocol) != protocol {
				continue
			}
			switch {
			case port.Type == intstr.String:
				if cp.Name == port.StrVal {
					return true
				}
			case end != nil:
				if cp.ContainerPort >= port.IntVal && cp.ContainerPort <= *end {
					return true
				}
			case cp.ContainerPort == port.IntVal:
				return true
			}
		}
	}
	return false
}

// podSpec checks one pod template's containers, volumes and references.
func (c *checker) podSpec(p pod) {
	spec := p.spec
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		// The kubelet would add <SERVICE>_PORT and friends for every
		// Service: MESAOPT_COORDINATOR_*, MESAOPT_GOSSIP_*, ETCD_*, all of
		// which mesaopt or etcd read as configuration.
		c.add(p.owner, RuleServiceLinks, "enableServiceLinks must be false")
	}
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		volumes[v.Name] = v
		c.volume(p, v)
	}
	all := append(slices.Clone(spec.InitContainers), spec.Containers...)
	for i := range all {
		ct := &all[i]
		id := p.owner + " container " + ct.Name
		for _, m := range ct.VolumeMounts {
			if volumes[m.Name] == nil && !slices.Contains(p.claims, m.Name) {
				c.add(id, RuleVolumeMount, "volumeMount %q names no volume", m.Name)
			}
		}
		c.env(p, id, ct)
		c.files(p, id, ct, volumes)
		c.probePorts(id, ct)
		c.resources(id, ct)
		c.security(p, id, ct)
		comp := p.labels[LabelComponent]
		if i >= len(spec.InitContainers) && (comp == "coordinator" || comp == "worker") {
			if !slices.Equal(ct.Command, []string{"/mesaopt", comp}) {
				c.add(id, RuleProbe, "command %q, want [\"/mesaopt\" %q] in a %s pod", ct.Command, comp, comp)
			}
			c.mesaopt(p, id, ct)
		}
	}
}

// volume checks that a volume's Secret or ConfigMap exists with its keys,
// and that a non-root process can read its files.
func (c *checker) volume(p pod, v *corev1.Volume) {
	id := p.owner + " volume " + v.Name
	if s := v.Secret; s != nil {
		c.secretKeys(id, s.SecretName, s.Optional, itemKeys(s.Items))
		modes := []int32{0o644}
		if s.DefaultMode != nil {
			modes[0] = *s.DefaultMode
		}
		for _, it := range s.Items {
			if it.Mode != nil {
				modes = append(modes, *it.Mode)
			}
		}
		for _, m := range modes {
			if !readable(p.spec, m) {
				c.add(id, RuleFile, "mode %#o is not readable by user %s (fsGroup %s)", m, int64s(p.spec.SecurityContext, true), int64s(p.spec.SecurityContext, false))
			}
		}
	}
	if cm := v.ConfigMap; cm != nil {
		c.configKeys(id, cm.Name, cm.Optional, itemKeys(cm.Items))
	}
	if pr := v.Projected; pr != nil {
		for _, src := range pr.Sources {
			if s := src.Secret; s != nil {
				c.secretKeys(id, s.Name, s.Optional, itemKeys(s.Items))
			}
			if cm := src.ConfigMap; cm != nil {
				c.configKeys(id, cm.Name, cm.Optional, itemKeys(cm.Items))
			}
		}
	}
}

func int64s(sc *corev1.PodSecurityContext, user bool) string {
	var v *int64
	if sc != nil {
		v = sc.FSGroup
		if user {
			v = sc.RunAsUser
		}
	}
	if v == nil {
		return "unset"
	}
	return strconv.FormatInt(*v, 10)
}

// readable reports whether the pod's user can read a secret file of mode:
// the kubelet makes such files root's, of group fsGroup when one is set.
func readable(spec *corev1.PodSpec, mode int32) bool {
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		return mode&0o400 != 0
	}
	return mode&0o004 != 0 || (sc.FSGroup != nil && mode&0o040 != 0)
}

func itemKeys(items []corev1.KeyToPath) []string {
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

func sortedKeys(m map[string]bool) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func keysOf(s *corev1.Secret) map[string]bool {
	keys := map[string]bool{}
	for k := range s.Data {
		keys[k] = true
	}
	for k := range s.StringData {
		keys[k] = true
	}
	return keys
}

func (c *checker) secretKeys(id, name string, optional *bool, keys []string) {
	s, ok := c.secrets[name]
	if !ok {
		if optional == nil || !*optional {
			c.add(id, RuleSecret, "Secret %q is not in the set", name)
		}
		return
	}
	have := keysOf(s)
	for _, k := range keys {
		if !have[k] {
			c.add(id, RuleSecret, "Secret %q has no key %q", name, k)
		}
	}
}

func (c *checker) configKeys(id, name string, optional *bool, keys []string) {
	cm, ok := c.configs[name]
	if !ok {
		if optional == nil || !*optional {
			c.add(id, RuleConfigMap, "ConfigMap %q is not in the set", name)
		}
		return
	}
	for _, k := range keys {
		_, a := cm.Data[k]
		_, b := cm.BinaryData[k]
		if !a && !b {
			c.add(id, RuleConfigMap, "ConfigMap %q has no key %q", name, k)
		}
	}
}

// env checks env references to Secrets and ConfigMaps and the order of
// $(VAR) references.
func (c *checker) env(p pod, id string, ct *corev1.Container) {
	defined := map[string]bool{}
	for _, ef := range ct.EnvFrom {
		if r := ef.SecretRef; r != nil {
			c.secretKeys(id, r.Name, r.Optional, nil)
			if s, ok := c.secrets[r.Name]; ok {
				for k := range keysOf(s) {
					defined[ef.Prefix+k] = true
				}
			}
		}
		if r := ef.ConfigMapRef; r != nil {
			c.configKeys(id, r.Name, r.Optional, nil)
			if cm, ok := c.configs[r.Name]; ok {
				for k := range cm.Data {
					defined[ef.Prefix+k] = true
				}
			}
		}
	}
	for _, e := range ct.Env {
		for _, ref := range varRefs(e.Value) {
			if !defined[ref] {
				c.add(id, RuleVarOrder, "env %s uses $(%s), which is not defined before it in this container", e.Name, ref)
			}
		}
		if vf := e.ValueFrom; vf != nil {
			if r := vf.SecretKeyRef; r != nil {
				c.secretKeys(id+" env "+e.Name, r.Name, r.Optional, []string{r.Key})
			}
			if r := vf.ConfigMapKeyRef; r != nil {
				c.configKeys(id+" env "+e.Name, r.Name, r.Optional, []string{r.Key})
			}
		}
		defined[e.Name] = true
	}
	for _, arg := range append(slices.Clone(ct.Command), ct.Args...) {
		for _, ref := range varRefs(arg) {
			if !defined[ref] {
				c.add(id, RuleVarOrder, "command or args use $(%s), which this container does not define", ref)
			}
		}
	}
}

// varRefs returns the names referenced as $(NAME) in s, as the kubelet
// expands them: $$ is a literal $, and a reference the kubelet cannot
// resolve is left in the value as written, silently.
func varRefs(s string) []string {
	var refs []string
	for i := 0; i < len(s)-1; i++ {
		if s[i] != '$' {
			continue
		}
		switch s[i+1] {
		case '$':
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				return refs
			}
			refs = append(refs, s[i+2:i+2+end])
			i += 2 + end
		}
	}
	return refs
}

// files checks that an env value naming a file under a secret mount names
// one the volume projects.
func (c *checker) files(p pod, id string, ct *corev1.Container, volumes map[string]*corev1.Volume) {
	for _, e := range ct.Env {
		if !strings.HasPrefix(e.Value, "/") {
			continue
		}
		for _, m := range ct.VolumeMounts {
			v := volumes[m.Name]
			dir := path.Clean(m.MountPath)
			if v == nil || v.Secret == nil || path.Dir(path.Clean(e.Value)) != dir {
				continue
			}
			name := path.Base(e.Value)
			var files []string
			if len(v.Secret.Items) > 0 {
				for _, it := range v.Secret.Items {
					files = append(files, it.Path)
				}
			} else if s, ok := c.secrets[v.Secret.SecretName]; ok {
				for k := range keysOf(s) {
					files = append(files, k)
				}
			} else {
				continue // reported by volume
			}
			if !slices.Contains(files, name) {
				c.add(id, RuleFile, "env %s=%s: volume %q projects no file %q (it has %s)", e.Name, e.Value, v.Name, name, strings.Join(sorted(files), ", "))
			}
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// probePorts checks that httpGet, tcpSocket and grpc probes name a port of
// their container.
func (c *checker) probePorts(id string, ct *corev1.Container) {
	for _, kp := range []struct {
		kind string
		pr   *corev1.Probe
	}{{"readiness", ct.ReadinessProbe}, {"liveness", ct.LivenessProbe}, {"startup", ct.StartupProbe}} {
		kind, pr := kp.kind, kp.pr
		if pr == nil {
			continue
		}
		var port *intstr.IntOrString
		switch {
		case pr.HTTPGet != nil:
			port = &pr.HTTPGet.Port
		case pr.TCPSocket != nil:
			port = &pr.TCPSocket.Port
		case pr.GRPC != nil:
			v := intstr.FromInt32(pr.GRPC.Port)
			port = &v
		}
		if port != nil && !hasPort([]corev1.Container{*ct}, *port, corev1.ProtocolTCP) {
			c.add(id, RuleProbePort, "%s probe port %s is no container port", kind, port.String())
		}
	}
}

func (c *checker) resources(id string, ct *corev1.Container) {
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := ct.Resources.Requests[r]; !ok || q.IsZero() {
			c.add(id, RuleResources, "no %s request", r)
		}
	}
}

func (c *checker) security(p pod, id string, ct *corev1.Container) {
	sc := ct.SecurityContext
	psc := p.spec.SecurityContext
	// A container's own setting overrides the pod's.
	nonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if sc != nil && sc.RunAsNonRoot != nil {
		nonRoot = *sc.RunAsNonRoot
	}
	if !nonRoot {
		c.add(id, RuleSecurity, "runAsNonRoot is not true")
	}
	if sc == nil {
		c.add(id, RuleSecurity, "no securityContext")
		return
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		c.add(id, RuleSecurity, "readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		c.add(id, RuleSecurity, "allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		c.add(id, RuleSecurity, "capabilities must drop ALL and add none")
	}
}

// mesaopt checks a mesaopt container's probes and addresses.
func (c *checker) mesaopt(p pod, id string, ct *corev1.Container) {
	env := map[string]string{}
	for _, e := range ct.Env {
		env[e.Name] = e.Value
	}
	port := func(name string, protocol corev1.Protocol) int32 {
		for _, cp := range ct.Ports {
			if cp.Name == name && proto(cp.Protocol) == protocol {
				return cp.ContainerPort
			}
		}
		return 0
	}
	grpc := port("grpc", corev1.ProtocolTCP)
	if grpc == 0 {
		c.add(id, RuleAddress, "no TCP container port named grpc")
	}
	gossip := port("gossip", corev1.ProtocolTCP)
	if gossip == 0 || port("gossip-udp", corev1.ProtocolUDP) != gossip {
		c.add(id, RuleAddress, "gossip needs TCP port gossip and UDP port gossip-udp of one number")
	}
	for _, nw := range []struct {
		name string
		want int32
	}{{"MESAOPT_LISTEN", grpc}, {"MESAOPT_ADVERTISE", grpc}, {"MESAOPT_GOSSIP", gossip}, {"MESAOPT_ADVERTISE_GOSSIP", gossip}} {
		name, want := nw.name, nw.want
		if got := addrPort(env[name]); got != want {
			c.add(id, RuleAddress, "%s=%q: port is not the container port %d", name, env[name], want)
		}
	}
	component := p.labels[LabelComponent]
	probe := func(kind string, pr *corev1.Probe, live bool) {
		if pr == nil || pr.Exec == nil {
			c.add(id, RuleProbe, "%s probe must be an exec probe of /mesaopt health", kind)
			return
		}
		cmd := pr.Exec.Command
		if len(cmd) < 3 || cmd[0] != "/mesaopt" || cmd[1] != "health" {
			c.add(id, RuleProbe, "%s probe %q does not run /mesaopt health", kind, cmd)
			return
		}
		if addrPort(cmd[len(cmd)-1]) != grpc || !strings.HasPrefix(cmd[len(cmd)-1], "127.0.0.1:") {
			c.add(id, RuleProbe, "%s probe %q does not dial 127.0.0.1 on the grpc port %d", kind, cmd, grpc)
		}
		if got := slices.Contains(cmd, "--live"); got != live {
			c.add(id, RuleProbe, "%s probe %q: --live is %v, want %v", kind, cmd, got, live)
		}
	}
	probe("readiness", ct.ReadinessProbe, false)
	switch component {
	case "coordinator":
		// A standby answers NOT_SERVING: only liveness accepts it.
		probe("liveness", ct.LivenessProbe, true)
	default:
		probe("liveness", ct.LivenessProbe, false)
	}
}

// addrPort returns the port of a host:port, or 0.
func addrPort(hostport string) int32 {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// leader checks what follows from coordinators' readiness meaning
// leadership: at most one is ever ready.
func (c *checker) leader() {
	isCoordinator := func(l map[string]string) bool {
		return l[LabelName] == Project && l[LabelComponent] == "coordinator"
	}
	for _, b := range c.s.PDBs {
		s, err := selector(b.Spec.Selector)
		if err != nil {
			continue
		}
		for _, p := range c.selected(s) {
			if isCoordinator(p.labels) {
				c.add("PodDisruptionBudget/"+b.Name, RuleLeader, "selects coordinators (%s): the standby is never ready, so the budget would refuse to evict the leader and hang drains", p.owner)
			}
		}
	}
	for _, d := range c.s.Deployments {
		if !isCoordinator(d.Spec.Template.Labels) {
			continue
		}
		id := "Deployment/" + d.Name
		replicas := 1
		if d.Spec.Replicas != nil {
			replicas = int(*d.Spec.Replicas)
		}
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			continue
		}
		mu := intstr.FromString("25%")
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
			mu = *ru.MaxUnavailable
		}
		n, err := intstr.GetScaledValueFromIntOrPercent(&mu, replicas, false)
		if err != nil || n < replicas {
			c.add(id, RuleLeader, "rolling update maxUnavailable %s of %d replicas: a rollout waiting for new standbys to be ready never ends", mu.String(), replicas)
		}
	}
}

// autoscalers checks each HPA's target.
func (c *checker) autoscalers() {
	for _, h := range c.s.HPAs {
		id := "HorizontalPodAutoscaler/" + h.Name
		ref := h.Spec.ScaleTargetRef
		var target *pod
		for i, p := range c.pods {
			if p.owner == ref.Kind+"/"+ref.Name {
				target = &c.pods[i]
			}
		}
		if target == nil || ref.APIVersion != "apps/v1" {
			c.add(id, RuleScaleTarget, "scaleTargetRef %s %s/%s names no workload of the set", ref.APIVersion, ref.Kind, ref.Name)
			continue
		}
		if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			c.add(id, RuleScaleTarget, "minReplicas %d > maxReplicas %d", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		for _, m := range h.Spec.Metrics {
			if m.Resource == nil {
				continue
			}
			for _, ct := range target.spec.Containers {
				if _, ok := ct.Resources.Requests[m.Resource.Name]; !ok {
					c.add(id, RuleScaleTarget, "scales on %s, which container %s of %s does not request", m.Resource.Name, ct.Name, target.owner)
				}
			}
		}
	}
}

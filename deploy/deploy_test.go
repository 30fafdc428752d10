// Package deploy_test brings up deploy/compose.yaml on this machine's
// Docker Engine and runs the default experiment through real faults of
// real hosts: the leading coordinator killed, a worker cut off the network
// for longer than the evaluation timeout, a worker paused, a worker
// replaced by a new container of the same gossip name at another address,
// an etcd member stopped. The run must end with the final digest of a
// 1-worker run of the same spec and seed. `make deploy-test` builds the
// images and runs it (MESAOPT_DEPLOY_TEST=1); elsewhere it skips.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// project is the compose project of the test: fixed, so that what a
// killed test left behind is found by its label and removed first.
const project = "mesaopt-deploytest"

// evaluationTimeout replaces the default experiment's 30 s, so that a
// worker cut off for longer than it keeps the test within minutes; it is
// an operational field, and the reference run uses the same spec.
const evaluationTimeout = 5 * time.Second

// cluster is the compose deployment under test.
type cluster struct {
	t        *testing.T
	dir      string   // the compose file's copy, its secrets and .env
	compose  []string // the compose command: docker compose or docker-compose
	env      []string // the compose command's environment
	network  string
	subnet   netip.Prefix
	bin      string // the static binaries of the image (bin/image)
	ports    [2]string
	operator *mtls.Identity
	runs     [2]rpc.RunServiceClient // through ports
	coords   [2]string               // containers of coordinator-1 and -2
	workerCs []string                // worker containers, sorted
}

func TestComposeCluster(t *testing.T) {
	if os.Getenv("MESAOPT_DEPLOY_TEST") == "" {
		t.Skip("the compose cluster test runs with make deploy-test, which builds the images first (MESAOPT_DEPLOY_TEST=1)")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker Engine answers (docker info: %v: %s)", err, bytes.TrimSpace(out))
	}
	for _, v := range []string{"MESAOPT_IMAGE", "ETCD_IMAGE"} {
		if os.Getenv(v) == "" {
			t.Fatalf("$%s is not set: make deploy-test builds the local images and names them", v)
		}
	}
	start := time.Now()
	c := newCluster(t)

	// The reference: the same spec and seed on one worker, on the host,
	// with the image's own binary, while the cluster comes up.
	spec := c.spec()
	ref := make(chan string, 1)
	go func() { ref <- c.referenceDigest(spec) }()

	c.up()
	id := strings.TrimSpace(lastLine(c.mesactl("run", "submit", "-f", spec)))
	t.Logf("submitted %s at %v", id, time.Since(start).Round(time.Second))
	// A watch from the host through both coordinators, across every fault:
	// it must print each generation once and the run's end.
	watch := exec.Command(filepath.Join(c.bin, "mesactl"), append(c.mesactlFlags(), "run", "watch", id)...)
	var watched, watchLog bytes.Buffer
	watch.Stdout, watch.Stderr = &watched, &watchLog
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Process.Kill(); _ = watch.Wait() })

	// 1. Kill the leader once a generation is committed.
	c.waitGeneration(id, 2)
	leader, standby := c.leader()
	done := c.mustRun(id, "killing the leader").GetGenerationsDone()
	c.docker("kill", leader)
	t.Logf("killed leader %s at generation %d", leader, done)
	testenv.WaitFor(t, "the standby to lead", 60*time.Second, func() bool {
		l, _ := c.leaderOrEmpty()
		return l == standby
	})
	c.waitGeneration(id, done+1)

	// 2. Cut one worker off for longer than the evaluation timeout and
	// pause another, at once; then bring both back.
	workers := c.workerCs
	cut, paused, replaced := workers[0], workers[1], workers[2]
	g := c.mustRun(id, "cutting a worker off").GetGenerationsDone()
	c.docker("network", "disconnect", "-f", c.network, cut)
	c.docker("pause", paused)
	t.Logf("disconnected %s and paused %s at generation %d", cut, paused, g)
	time.Sleep(evaluationTimeout + 3*time.Second)
	g2 := c.mustRun(id, "reconnecting").GetGenerationsDone()
	c.docker("network", "connect", c.network, cut)
	c.docker("unpause", paused)
	t.Logf("reconnected %s and unpaused %s at generation %d (%d committed meanwhile by the third)", cut, paused, g2, g2-g)

	// 3. Stop an etcd member, then replace a worker by a new container
	// with the same gossip name and another address (last: its old name
	// must be declared dead before the new address is taken, which
	// takes gossip's suspicion timeout).
	etcd1 := c.container("etcd-1")
	c.waitGeneration(id, g2+1)
	g3 := c.mustRun(id, "stopping etcd-1").GetGenerationsDone()
	c.docker("stop", "-t", "5", etcd1)
	t.Logf("stopped etcd-1 at generation %d", g3)
	c.waitGeneration(id, g3+1)
	c.mustRun(id, "replacing a worker")
	c.replace(replaced)
	t.Logf("the replacement joined at generation %d", c.mustRun(id, "").GetGenerationsDone())

	final := c.waitFinished(id)
	want := <-ref
	if final.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || final.GetFinalDigest() != want {
		t.Fatalf("run %s ended %v with final digest %s; the 1-worker run's is %s", id, final.GetState(), final.GetFinalDigest(), want)
	}
	t.Logf("final digest %s equals the 1-worker run's", want)
	watchDone := make(chan error, 1)
	go func() { watchDone <- watch.Wait() }()
	select {
	case err := <-watchDone:
		if err != nil {
			t.Fatalf("mesactl run watch: %v\n%s%s", err, watched.String(), watchLog.String())
		}
	case <-time.After(testenv.Patience(time.Minute)):
		t.Fatalf("mesactl run watch did not end with the run:\n%s%s", watched.String(), watchLog.String())
	}
	checkWatch(t, watched.String(), final.GetSpec().GetGenerations())
	t.Logf("mesactl run watch followed the failover:\n%s", watchLog.String())

	// Exports from the host, over TLS, through whichever coordinator leads.
	newick := filepath.Join(c.dir, "run.nwk")
	c.mesactl("export", id, "--format", "newick", "-f", newick)
	b, err := os.ReadFile(newick)
	if err != nil || !bytes.HasPrefix(b, []byte("(")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte(";")) {
		t.Fatalf("mesactl export --format newick wrote %d bytes (%v), not a Newick tree", len(b), err)
	}
	alife := c.mesactl("export", id, "--format", "alife")
	if !strings.HasPrefix(alife, "id,") || strings.Count(alife, "\n") < 48 {
		t.Fatalf("mesactl export --format alife: %.200q", alife)
	}
	t.Logf("deploy test took %v", time.Since(start).Round(time.Second))
}

// newCluster prepares the compose project in a temporary directory: the
// compose file, fresh secrets (deploy/secrets.sh), free host ports and a
// subnet no Docker network uses. Everything the project made is removed
// when the test ends, and before it starts.
func newCluster(t *testing.T) *cluster {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: t.TempDir(), bin: filepath.Join(root, "bin", "image")}
	for _, f := range []string{"mesaopt", "mesactl"} {
		if _, err := os.Stat(filepath.Join(c.bin, f)); err != nil {
			t.Fatalf("%v: make deploy-test builds it (make image)", err)
		}
	}
	c.compose = composeCommand(t)
	removeProject(t)
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
		removeProject(t)
	})
	b, err := os.ReadFile(filepath.Join(root, "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "compose.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(root, "deploy", "secrets.sh"), filepath.Join(c.bin, "mesaopt"), c.dir).CombinedOutput(); err != nil {
		t.Fatalf("deploy/secrets.sh: %v\n%s", err, out)
	}
	c.operator, err = mtls.Load(c.secret("operator.pem"), c.secret("operator-key.pem"), c.secret("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c.ports = [2]string{freePort(t), freePort(t)}
	for i, port := range c.ports {
		conn, err := grpc.NewClient("127.0.0.1:"+port, append(grpcconf.ClientOptions(),
			grpc.WithTransportCredentials(c.operator.ClientCredentials(mtls.RoleCoordinator)))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c.runs[i] = rpc.NewRunServiceClient(conn)
	}
	c.subnet = freeSubnet(t)
	c.network = project + "_cluster"
	c.env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+project, "MESAOPT_PORT_1="+c.ports[0], "MESAOPT_PORT_2="+c.ports[1],
		"MESAOPT_SUBNET="+c.subnet.String())
	if env, err := os.ReadFile(filepath.Join(c.dir, ".env")); err == nil {
		// Not root: the containers run as this user, who owns the secrets.
		c.env = append(c.env, strings.Fields(string(env))...)
	}
	return c
}

func (c *cluster) secret(name string) string { return filepath.Join(c.dir, "secrets", name) }

// composeCommand is `docker compose` where the plugin exists, else the
// standalone docker-compose.
func composeCommand(t *testing.T) []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	t.Skip("neither docker compose nor docker-compose is installed")
	return nil
}

// removeProject removes every container, network and volume labelled
// with the test's compose project, the replacement worker included
// (deploy/teardown.sh, which make deploy-test also runs after the test,
// in case the test was killed before its cleanup).
func removeProject(t *testing.T) {
	if out, err := exec.Command("./teardown.sh", project).CombinedOutput(); err != nil {
		t.Errorf("deploy/teardown.sh %s: %v\n%s", project, err, out)
	}
}

func (c *cluster) run(name string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func (c *cluster) docker(args ...string) string { c.t.Helper(); return c.run("docker", args...) }

func (c *cluster) composeRun(args ...string) string {
	c.t.Helper()
	return c.run(c.compose[0], append(append(c.compose[1:], "-f", "compose.yaml"), args...)...)
}

// mesactl runs the image's mesactl on the host against both published
// coordinator ports, as the operator.
func (c *cluster) mesactl(args ...string) string {
	c.t.Helper()
	return c.run(filepath.Join(c.bin, "mesactl"), append(c.mesactlFlags(), args...)...)
}

func (c *cluster) mesactlFlags() []string {
	return []string{"--coordinator", "127.0.0.1:" + c.ports[0] + ",127.0.0.1:" + c.ports[1], "--timeout", "20s",
		"--tls-cert", c.secret("operator.pem"), "--tls-key", c.secret("operator-key.pem"), "--tls-ca", c.secret("ca.pem")}
}

var progressRE = regexp.MustCompile(`^gen\s+(\d+)/(\d+)\s`)

// checkWatch checks a run watch's output: generations 1..n in order, each
// once, then "run succeeded".
func checkWatch(t *testing.T, out string, n uint32) {
	t.Helper()
	var gens []string
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if m := progressRE.FindStringSubmatch(l); m != nil {
			gens = append(gens, m[1])
		}
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i + 1)
	}
	if !slices.Equal(gens, want) || lines[len(lines)-1] != "run succeeded" {
		t.Fatalf("mesactl run watch printed generations %v and ended %q, want 1..%d once each and \"run succeeded\":\n%s", gens, lines[len(lines)-1], n, out)
	}
}

// spec writes the default experiment with evaluationTimeout.
func (c *cluster) spec() string {
	b, err := os.ReadFile("../experiments/doors.yaml")
	if err != nil {
		c.t.Fatal(err)
	}
	s := strings.Replace(string(b), "evaluation_timeout: 30s", fmt.Sprintf("evaluation_timeout: %v", evaluationTimeout), 1)
	if s == string(b) {
		c.t.Fatal("experiments/doors.yaml has no evaluation_timeout: 30s line to shorten")
	}
	p := filepath.Join(c.dir, "doors.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

var digestRE = regexp.MustCompile(`Final digest \(population \+ lineage\): ([0-9a-f]{64})`)

// referenceDigest runs spec on one worker with mesaopt run (embedded
// etcd) and returns its final digest; it fails the test via Errorf, as it
// runs in its own goroutine, and returns "" then.
func (c *cluster) referenceDigest(spec string) string {
	data := filepath.Join(c.dir, "reference")
	cmd := exec.Command(filepath.Join(c.bin, "mesaopt"), "run", "-f", spec, "--workers", "1", "--insecure", "--data", data,
		"--listen", "127.0.0.1:"+freePort(c.t), "--http-listen", "", "--etcd-client", "127.0.0.1:"+freePort(c.t), "--etcd-peer", "127.0.0.1:"+freePort(c.t))
	out, err := cmd.CombinedOutput()
	m := digestRE.FindSubmatch(out)
	if err != nil || m == nil {
		c.t.Errorf("reference run: %v\n%s", err, out)
		return ""
	}
	return string(m[1])
}

// up starts the project and waits until every mesaopt container is
// healthy and a coordinator leads.
func (c *cluster) up() {
	c.composeRun("up", "-d")
	c.coords = [2]string{c.container("coordinator-1"), c.container("coordinator-2")}
	c.workerCs = c.workers()
	names := append(c.coords[:], c.workerCs...)
	if len(names) != 5 {
		c.t.Fatalf("containers %v, want 2 coordinators and 3 workers", names)
	}
	testenv.WaitFor(c.t, "the cluster to be healthy", 2*time.Minute, func() bool {
		for _, n := range names {
			if strings.TrimSpace(c.docker("inspect", "-f", "{{.State.Health.Status}}", n)) != "healthy" {
				return false
			}
		}
		l, _ := c.leaderOrEmpty()
		return l != ""
	})
	leader, _ := c.leader()
	testenv.WaitFor(c.t, "3 workers to join the leader", time.Minute, func() bool {
		return strings.Count(c.docker("logs", leader), `"msg":"worker joined"`) >= 3
	})
}

// container is the name of service's first container.
func (c *cluster) container(service string) string {
	c.t.Helper()
	ids := strings.Fields(c.composeRun("ps", "-q", service))
	if len(ids) == 0 {
		c.t.Fatalf("no container of %s", service)
	}
	return strings.TrimPrefix(strings.TrimSpace(c.docker("inspect", "-f", "{{.Name}}", ids[0])), "/")
}

// workers are the worker containers' names, sorted.
func (c *cluster) workers() []string {
	ids := strings.Fields(c.composeRun("ps", "-q", "worker"))
	var names []string
	for _, id := range ids {
		names = append(names, strings.TrimPrefix(strings.TrimSpace(c.docker("inspect", "-f", "{{.Name}}", id)), "/"))
	}
	slices.Sort(names)
	return names
}

// leaderOrEmpty returns the container of the coordinator that serves
// gRPC health (the leader) and the other one; "" when none serves.
func (c *cluster) leaderOrEmpty() (leader, other string) {
	names := c.coords
	for i, port := range c.ports {
		cmd := exec.Command(filepath.Join(c.bin, "mesaopt"), "health", "--timeout", "2s", "--tls-ca", c.secret("ca.pem"), "127.0.0.1:"+port)
		if cmd.Run() == nil {
			return names[i], names[1-i]
		}
	}
	return "", ""
}

func (c *cluster) leader() (leader, other string) {
	c.t.Helper()
	l, o := c.leaderOrEmpty()
	if l == "" {
		c.t.Fatal("no coordinator leads")
	}
	return l, o
}

// getRun asks each published coordinator for run id and returns the
// first answer; nil when none answers.
func (c *cluster) getRun(id string) *pb.Run {
	for _, runs := range c.runs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := runs.GetRun(ctx, &pb.GetRunRequest{RunId: id})
		cancel()
		if err == nil {
			return resp.GetRun()
		}
	}
	return nil
}

// mustRun returns the run, failing the test when it has already ended:
// the fault about to be applied (what) would then not land in the run.
func (c *cluster) mustRun(id, what string) *pb.Run {
	c.t.Helper()
	var r *pb.Run
	testenv.WaitFor(c.t, "a coordinator to answer about "+id, time.Minute, func() bool { r = c.getRun(id); return r != nil })
	if what != "" && r.GetState() != pb.RunState_RUN_STATE_RUNNING {
		c.t.Fatalf("run %s is %v at generation %d before %s: the faults need a longer run", id, r.GetState(), r.GetGenerationsDone(), what)
	}
	return r
}

func (c *cluster) waitGeneration(id string, g uint32) {
	c.t.Helper()
	testenv.WaitFor(c.t, fmt.Sprintf("generation %d of %s", g, id), 3*time.Minute, func() bool {
		r := c.getRun(id)
		if r != nil && r.GetState() != pb.RunState_RUN_STATE_RUNNING && r.GetGenerationsDone() < g {
			c.t.Fatalf("run %s ended %v at generation %d, before %d", id, r.GetState(), r.GetGenerationsDone(), g)
		}
		return r != nil && r.GetGenerationsDone() >= g
	})
}

func (c *cluster) waitFinished(id string) *pb.Run {
	c.t.Helper()
	var r *pb.Run
	testenv.WaitFor(c.t, "run "+id+" to finish", 5*time.Minute, func() bool {
		r = c.getRun(id)
		switch r.GetState() {
		case pb.RunState_RUN_STATE_SUCCEEDED, pb.RunState_RUN_STATE_FAILED, pb.RunState_RUN_STATE_CANCELLED:
			return true
		}
		return false
	})
	return r
}

// replace removes worker container old and starts a new container with
// its image, user, environment and secrets, its gossip name, and an
// address on the cluster network that old never had.
func (c *cluster) replace(old string) {
	c.t.Helper()
	var info struct {
		Config struct {
			Image string
			User  string
			Env   []string
		}
		NetworkSettings struct {
			Networks map[string]struct{ IPAddress string }
		}
	}
	var all []json.RawMessage
	if err := json.Unmarshal([]byte(c.docker("inspect", old)), &all); err != nil || len(all) != 1 {
		c.t.Fatalf("docker inspect %s: %v", old, err)
	}
	if err := json.Unmarshal(all[0], &info); err != nil {
		c.t.Fatal(err)
	}
	oldIP := info.NetworkSettings.Networks[c.network].IPAddress
	name := gossipName(c.t, c.docker("logs", old))
	// Compose assigns addresses from the bottom of the subnet: one near
	// its top is new.
	newIP := c.subnet.Addr().As4()
	newIP[3] = 200
	ip := netip.AddrFrom4(newIP).String()
	if ip == oldIP {
		c.t.Fatalf("replacement address %s equals the old one", ip)
	}
	c.docker("rm", "-f", old)
	args := []string{"run", "-d", "--name", project + "-replacement", "--label", "com.docker.compose.project=" + project,
		"--network", c.network, "--ip", ip, "--user", info.Config.User, "--read-only", "-e", "MESAOPT_NAME=" + name}
	for _, kv := range info.Config.Env {
		if strings.HasPrefix(kv, "MESAOPT_") {
			args = append(args, "-e", kv)
		}
	}
	for _, s := range []string{"ca.pem", "worker.pem", "worker-key.pem", "gossip.key"} {
		args = append(args, "-v", c.secret(s)+":/run/secrets/"+s+":ro")
	}
	args = append(args, info.Config.Image, "worker")
	c.docker(args...)
	c.t.Logf("replaced %s (%s at %s) by %s-replacement at %s", old, name, oldIP, project, ip)
	leader, _ := c.leader()
	testenv.WaitFor(c.t, name+" to rejoin at "+ip, time.Minute, func() bool {
		return strings.Contains(c.docker("logs", leader), `"addr":"`+ip+`:7071"`)
	})
}

// gossipName is the worker's name in its "worker serving" log record.
func gossipName(t *testing.T, logs string) string {
	for s := bufio.NewScanner(strings.NewReader(logs)); s.Scan(); {
		var rec struct{ Msg, Worker string }
		if json.Unmarshal(s.Bytes(), &rec) == nil && rec.Msg == "worker serving" && rec.Worker != "" {
			return rec.Worker
		}
	}
	t.Fatalf("no \"worker serving\" record in the worker's log:\n%s", logs)
	return ""
}

func (c *cluster) dumpLogs() {
	cmd := exec.Command(c.compose[0], append(c.compose[1:], "-f", "compose.yaml", "logs", "--no-color", "--tail", "60")...)
	cmd.Dir, cmd.Env = c.dir, c.env
	out, _ := cmd.CombinedOutput()
	c.t.Logf("compose logs:\n%s", out)
	out, _ = exec.Command("docker", "logs", "--tail", "60", project+"-replacement").CombinedOutput()
	c.t.Logf("replacement worker's log:\n%s", out)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(testenv.FreeAddr(t, "127.0.0.1"))
	return port
}

// freeSubnet picks a /24 in 172.30.0.0/16 that no Docker network overlaps.
func freeSubnet(t *testing.T) netip.Prefix {
	out, err := exec.Command("sh", "-c", `docker network inspect $(docker network ls -q) -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}'`).Output()
	if err != nil {
		t.Fatalf("listing the Docker networks' subnets: %v", err)
	}
	var used []netip.Prefix
	for _, f := range strings.Fields(string(out)) {
		if p, err := netip.ParsePrefix(f); err == nil {
			used = append(used, p)
		}
	}
	for i := range 256 {
		cand := netip.MustParsePrefix(fmt.Sprintf("172.30.%d.0/24", i))
		free := true
		for _, u := range used {
			if u.Overlaps(cand) {
				free = false
			}
		}
		if free {
			return cand
		}
	}
	t.Fatal("no free /24 in 172.30.0.0/16 for the cluster network")
	return netip.Prefix{}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smallDisk is a tmpfs of a chosen size at dir. As root it is mounted
// here; otherwise inside a user and mount namespace (unshare -rm) that a
// holder process keeps alive, and every command is run in it (nsenter).
type smallDisk struct {
	dir    string
	holder *exec.Cmd // nil when mounted here as root
}

// newSmallDisk mounts a tmpfs of sizeMB megabytes, or skips the test.
func newSmallDisk(t *testing.T, sizeMB int) *smallDisk {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux: a tmpfs of a given size stands in for a full disk")
	}
	d := &smallDisk{dir: filepath.Join(t.TempDir(), "disk")}
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	size := "size=" + strconv.Itoa(sizeMB) + "m"
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", size, "tmpfs", d.dir).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs as root (%v: %s); skipped", err, out)
		}
		t.Cleanup(func() {
			if exec.Command("umount", d.dir).Run() != nil {
				_ = exec.Command("umount", "-l", d.dir).Run()
			}
		})
		return d
	}
	for _, tool := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("not root and no %s to mount a tmpfs in a user namespace; skipped", tool)
		}
	}
	d.holder = exec.Command("unshare", "-rm", "sh", "-c", "mount -t tmpfs -o "+size+" tmpfs \"$1\" && echo mounted && exec sleep 3600", "sh", d.dir)
	stdout, err := d.holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	d.holder.Stderr = &stderr
	if err := d.holder.Start(); err != nil {
		t.Skipf("not root and unshare -rm does not start (%v); skipped", err)
	}
	t.Cleanup(func() { _ = d.holder.Process.Kill(); _ = d.holder.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "mounted\n" {
		t.Skipf("not root and unshare -rm cannot mount a tmpfs (%s); skipped", strings.TrimSpace(stderr.String()))
	}
	return d
}

// command runs name with args where the tmpfs is mounted.
func (d *smallDisk) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if d.holder == nil {
		return exec.CommandContext(ctx, name, args...)
	}
	ns := []string{"-t", strconv.Itoa(d.holder.Process.Pid), "-U", "-m", "--preserve-credentials", name}
	return exec.CommandContext(ctx, "nsenter", append(ns, args...)...)
}

// sh runs a shell command on the tmpfs and returns its error.
func (d *smallDisk) sh(t *testing.T, script string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return d.command(ctx, "sh", "-c", script).Run()
}

// exists reports whether path exists on the tmpfs.
func (d *smallDisk) exists(t *testing.T, path string) bool {
	return d.sh(t, "test -e '"+path+"'") == nil
}

// mesaopt runs the binary on the tmpfs to its end, returning the combined
// output and the exit code; the deadline only bounds a hang.
func (d *smallDisk) mesaopt(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := d.command(ctx, binary, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mesaopt %v still running after 3 minutes\n%s", args, out)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("mesaopt %v: %v", args, err)
	}
	return string(out), 0
}

func noStackTrace(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Fatalf("a stack trace instead of a message:\n%s", out)
	}
}

// TestDiskTooSmallAtStart starts a run on a disk without room for etcd's
// write-ahead log: a clear message naming the directory and the space, no
// stack trace and no lock left; the same directory works once the disk is
// larger.
func TestDiskTooSmallAtStart(t *testing.T) {
	// Less than the 64 MB write-ahead log segment etcd preallocates first.
	disk := newSmallDisk(t, 50)
	n := newNode(t)
	n.data = filepath.Join(disk.dir, "data")
	exp := writeExperiment(t, 2)
	out, code := disk.mesaopt(t, n.args("-f", exp, "--workers", "1")...)
	if code == 0 {
		t.Fatalf("started on a 50 MB disk:\n%s", out)
	}
	etcdDir := filepath.Join(n.data, "etcd")
	for _, want := range []string{"no space left on device in " + etcdDir, "MiB free", "needs at least", "64 MB write-ahead log",
		"Free space on the disk of " + n.data} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	noStackTrace(t, out)
	if disk.exists(t, etcdDir+".lock") {
		t.Errorf("%s.lock left behind", etcdDir)
	}

	if err := disk.sh(t, "mount -t tmpfs -o remount,size=300m tmpfs '"+disk.dir+"'"); err != nil {
		t.Fatalf("remount larger: %v", err)
	}
	out, code = disk.mesaopt(t, n.args("-f", exp, "--workers", "1")...)
	if code != 0 || !strings.Contains(out, "succeeded after 2/2 generations") {
		t.Fatalf("on the larger disk: exit %d\n%s", code, out)
	}
	if disk.exists(t, etcdDir+".lock") {
		t.Errorf("%s.lock left behind by a run that ended", etcdDir)
	}
}

// TestDiskFullMidRun fills the disk while a run is going: mesaopt says so
// and how to resume, loses nothing committed and leaves the directory
// resumable; once space is freed, the resume finishes with the digest of
// an uninterrupted run.
func TestDiskFullMidRun(t *testing.T) {
	const generations = 300
	exp := writeExperiment(t, generations)
	want := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--workers", "1")...))

	disk := newSmallDisk(t, 200)
	n := newNode(t)
	n.data = filepath.Join(disk.dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := disk.command(ctx, binary, n.args("-f", exp, "--workers", "1")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var runID string
	var text strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		text.WriteString(lines.Text() + "\n")
		if m := runIDRE.FindStringSubmatch(lines.Text()); m != nil {
			runID = m[1]
		}
		if strings.HasPrefix(lines.Text(), "gen   3/") {
			break
		}
	}
	if runID == "" {
		t.Fatalf("no run id before generation 3:\n%s%s", text.String(), stderr.String())
	}
	filler := filepath.Join(disk.dir, "filler")
	_ = disk.sh(t, "cat /dev/zero > '"+filler+"'") // fails once the disk is full
	for lines.Scan() {
		text.WriteString(lines.Text() + "\n")
	}
	err = cmd.Wait()
	out := text.String() + stderr.String()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("the run went on with a full disk (%v):\n%s", err, out)
	}
	if strings.Contains(out, fmt.Sprintf("succeeded after %d/%d", generations, generations)) {
		t.Fatalf("the run finished before the disk was full; raise generations:\n%s", out)
	}
	etcdDir := filepath.Join(n.data, "etcd")
	for _, want := range []string{"no space left on device in " + etcdDir, "Nothing committed is lost",
		"free space on the disk of " + n.data + " and resume with: mesaopt run --data " + n.data, "--resume " + runID} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	noStackTrace(t, out)
	if disk.exists(t, etcdDir+".lock") {
		t.Errorf("%s.lock left behind", etcdDir)
	}

	if err := disk.sh(t, "rm '"+filler+"'"); err != nil {
		t.Fatal(err)
	}
	resumed, code := disk.mesaopt(t, n.args("--resume", runID, "--workers", "1")...)
	if code != 0 || !strings.Contains(resumed, "resumed from its last checkpoint") {
		t.Fatalf("resume after freeing space: exit %d\n%s", code, resumed)
	}
	if got := finalDigest(t, resumed); got != want {
		t.Fatalf("resumed run digest %s, uninterrupted %s\n%s", got, want, resumed)
	}
}

package main

import "syscall"

// terminate asks a worker to drain and exit.
var terminate = syscall.SIGTERM

// childAttr makes the kernel kill a worker when this process dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: false}
}

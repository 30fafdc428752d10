//go:build !linux

package main

import (
	"os"
	"syscall"
)

var terminate = os.Interrupt

func childAttr() *syscall.SysProcAttr { return nil }

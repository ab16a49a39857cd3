//go:build linux

package stripetest

import "syscall"

// sysProcAttr makes the kernel kill stripe-mock when the test binary dies
// without running its cleanups (e.g. go test -timeout, a crash, a signal).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

//go:build !linux

package stripetest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }

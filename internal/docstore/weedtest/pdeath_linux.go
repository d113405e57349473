package weedtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the weed server die with the test process, also when a package that
// uses Shared has no TestMain to close it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

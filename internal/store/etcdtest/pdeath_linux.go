package etcdtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a member die with the test process, also when a test fails before its
// cleanup runs.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

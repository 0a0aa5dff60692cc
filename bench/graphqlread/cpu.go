package main

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time, user and system, that this process has
// used so far. Child processes such as wrk are not counted, so around a
// wrk run it is the servers' CPU alone. Per request, it is a steadier
// measure of cost than throughput when other work shares the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

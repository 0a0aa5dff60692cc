package queue

import "time"

// Schedule lists the delays between delivery attempts: the first after
// the first attempt, the second after the second, and so on; the last
// repeats. An empty Schedule means DefaultSchedule.
type Schedule []time.Duration

// DefaultSchedule is the retry schedule used when none is configured.
var DefaultSchedule = Schedule{
	time.Minute,
	5 * time.Minute,
	15 * time.Minute,
	30 * time.Minute,
	time.Hour,
	2 * time.Hour,
	4 * time.Hour,
	8 * time.Hour,
}

// DefaultMaxAge is how long a message may stay in the queue before its
// undelivered recipients fail.
const DefaultMaxAge = 120 * time.Hour

// Jitter is the largest fraction by which Next moves a delay either way.
const Jitter = 0.2

// Next returns the delay after the attempt-th failed attempt (counting
// from 1; a smaller number counts as 1), moved by rnd: rnd in [0, 1) maps
// linearly onto [-Jitter, +Jitter] of the delay, so 0.5 gives the delay
// as listed. rnd outside [0, 1) is clamped.
func (s Schedule) Next(attempt int, rnd float64) time.Duration {
	if len(s) == 0 {
		s = DefaultSchedule
	}
	i := min(max(attempt, 1), len(s)) - 1
	rnd = min(max(rnd, 0), 1)
	factor := 1 + Jitter*(2*rnd-1)
	return time.Duration(float64(s[i]) * factor)
}

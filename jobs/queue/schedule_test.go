package queue_test

import (
	"testing"
	"time"

	"github.com/lightr-mail/lightr/jobs/queue"
)

func TestSchedule_Next(t *testing.T) {
	s := queue.DefaultSchedule
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, time.Minute}, {1, time.Minute}, {2, 5 * time.Minute}, {3, 15 * time.Minute},
		{8, 8 * time.Hour}, {9, 8 * time.Hour}, {100, 8 * time.Hour},
	} {
		if got := s.Next(tc.attempt, 0.5); got != tc.want {
			t.Errorf("Next(%d, 0.5) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
	if got := queue.Schedule(nil).Next(2, 0.5); got != 5*time.Minute {
		t.Errorf("nil schedule: Next(2) = %v, want the default 5m", got)
	}
	if got := (queue.Schedule{time.Second}).Next(5, 0.5); got != time.Second {
		t.Errorf("custom schedule: Next(5) = %v, want 1s", got)
	}
}

func TestSchedule_JitterBounds(t *testing.T) {
	s := queue.Schedule{100 * time.Second}
	lo, hi := 80*time.Second, 120*time.Second
	if got := s.Next(1, 0); got != lo {
		t.Errorf("rnd 0: %v, want %v", got, lo)
	}
	if got := s.Next(1, 1); got != hi {
		t.Errorf("rnd 1: %v, want %v", got, hi)
	}
	for _, rnd := range []float64{-3, 0.1, 0.37, 0.99, 7} {
		if got := s.Next(1, rnd); got < lo || got > hi {
			t.Errorf("rnd %v: %v outside [%v, %v]", rnd, got, lo, hi)
		}
	}
}

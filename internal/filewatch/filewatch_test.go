package filewatch

import (
	"testing"
	"time"
)

func TestSettle(t *testing.T) {
	a := Version{ModTime: time.Unix(1, 0), Size: 10}
	b := Version{ModTime: time.Unix(2, 0), Size: 0}
	c := Version{ModTime: time.Unix(3, 0), Size: 10}
	var s Settle
	for i, step := range []struct {
		changed bool
		cur     Version
		want    bool
	}{
		{false, a, false},
		{true, b, false}, // just changed
		{true, c, false}, // still moving
		{true, c, true},  // the same twice: load it
		{false, c, false},
		{true, b, false},
		{false, c, false}, // back to what was loaded: nothing pending
		{true, b, false},
	} {
		if got := s.Ready(step.changed, step.cur); got != step.want {
			t.Fatalf("step %d: Ready = %v, want %v", i, got, step.want)
		}
	}
}

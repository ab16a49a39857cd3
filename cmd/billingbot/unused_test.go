package main

import (
	"strings"
	"testing"
	"time"
)

func TestUnusedAfter(t *testing.T) {
	day := 24 * time.Hour
	for _, tt := range []struct {
		value string
		want  time.Duration
		bad   bool
	}{
		{"", 0, false}, {"30", 30 * day, false}, {"14d", 14 * day, false}, {"720h", 30 * day, false},
		{"1h", time.Hour, false}, {"366", 366 * day, false},
		{"0", 0, true}, {"-3", 0, true}, {"367", 0, true}, {"99999999999999", 0, true}, {"59m", 0, true},
		{"a month", 0, true}, {"30 d", 0, true},
	} {
		t.Run(tt.value, func(t *testing.T) {
			c, err := loadConfig(map[string]string{"BILLINGBOT_UNUSED_AFTER": tt.value})
			switch {
			case tt.bad && (err == nil || !strings.Contains(err.Error(), "BILLINGBOT_UNUSED_AFTER")):
				t.Errorf("error %v, want one naming BILLINGBOT_UNUSED_AFTER", err)
			case !tt.bad && err != nil:
				t.Errorf("error %v", err)
			case !tt.bad && (c.UnusedAfter != tt.want || c.core().UnusedAfter != tt.want):
				t.Errorf("UnusedAfter %v, core's %v, want %v", c.UnusedAfter, c.core().UnusedAfter, tt.want)
			}
		})
	}
}

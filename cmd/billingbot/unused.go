package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseUnusedAfter reads BILLINGBOT_UNUSED_AFTER: how long licenses must
// have been free before their purchaser hears of them, in days ("30",
// "30d") or as a Go duration ("720h"), from 1 hour to 366 days; "" is
// the core's default (0).
func parseUnusedAfter(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	const day = 24 * time.Hour
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSuffix(v, "d")); err == nil {
		d = time.Duration(n) * day
		if n > 366 {
			d = 367 * day
		}
	} else if d, err = time.ParseDuration(v); err != nil {
		d = 0
	}
	if d < time.Hour || d > 366*day {
		return 0, fmt.Errorf("BILLINGBOT_UNUSED_AFTER: %q: want days from 1 to 366 (30 or 30d) or a duration from 1h, such as 720h", v)
	}
	return d, nil
}

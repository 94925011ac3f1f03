package main

import "testing"

func TestGreeting(t *testing.T) {
	cases := map[string][]string{
		"Hello, world!":     {"world"},
		"Hello, big world!": {"big", "world"},
		"Hello from a gantry plugin written in Go!": {},
	}
	for want, args := range cases {
		if got := greeting(args); got != want {
			t.Errorf("greeting(%q) = %q, want %q", args, got, want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestGreeting(t *testing.T) {
	if got, want := greeting([]string{"big", "world"}), "Hello from {{name}}, big world!"; got != want {
		t.Errorf("greeting = %q, want %q", got, want)
	}
}

func TestForecastHook(t *testing.T) {
	stdin := strings.NewReader(`{"api":1,"hook":"scale.forecast","input":{
		"series":[{"t":1700000000,"v":5},{"t":1700000300,"v":9},{"t":1700000600,"v":7},{"t":1700000900,"v":4}],
		"interval_s":300,"horizon_steps":3}}`)
	var stdout bytes.Buffer
	if code := serveHook("scale.forecast", stdin, &stdout); code != 0 {
		t.Fatalf("exit code %d, output %s", code, stdout.String())
	}
	var resp struct{ Output forecastOutput }
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	want := forecastOutput{P50Peak: 9, P90Peak: 10.25, PeakAt: 1700001200, Model: "{{name}}@0.1.0"}
	if resp.Output != want {
		t.Errorf("output %+v, want %+v", resp.Output, want)
	}
}

func TestUnknownHookIsAnError(t *testing.T) {
	var stdout bytes.Buffer
	code := serveHook("other.hook", strings.NewReader(`{"api":1,"hook":"other.hook","input":{}}`), &stdout)
	if code != 1 || !strings.Contains(stdout.String(), `"error":{"message":"this plugin does not serve hook`) {
		t.Errorf("exit code %d, output %s", code, stdout.String())
	}
}

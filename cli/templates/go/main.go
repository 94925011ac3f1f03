// {{name}}: a gantry plugin. Run as `gantry {{name}} ARGS...` it is a command; run by
// gantry as `{{name}} --gantry-hook scale.forecast` it answers that hook with a forecast
// of the load's peak. Keep the half you need.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -o {{name}}.wasm .
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "--gantry-hook" {
		os.Exit(serveHook(os.Args[2], os.Stdin, os.Stdout))
	}
	if _, err := fmt.Println(greeting(os.Args[1:])); err != nil {
		fmt.Fprintf(os.Stderr, "{{name}}: writing to stdout: %v\n", err)
		os.Exit(1)
	}
}

func greeting(args []string) string {
	if len(args) == 0 {
		return "Hello from {{name}}!"
	}
	return fmt.Sprintf("Hello from {{name}}, %s!", strings.Join(args, " "))
}

// A hook call: gantry writes {"api":1,"hook":HOOK,"input":{...}} to stdin and reads
// exactly one {"output":{...}} or {"error":{"message":"..."}} from stdout.
type request struct {
	API   int             `json:"api"`
	Hook  string          `json:"hook"`
	Input json.RawMessage `json:"input"`
}

type hookError struct {
	Message string `json:"message"`
}

type response struct {
	Output any        `json:"output,omitempty"`
	Error  *hookError `json:"error,omitempty"`
}

// serveHook answers one hook call and returns the exit code: 0 after an output, 1 after
// an error (whose message gantry shows to the user).
func serveHook(hook string, stdin io.Reader, stdout io.Writer) int {
	output, err := answer(hook, stdin)
	resp := response{Output: output}
	code := 0
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		resp = response{Error: &hookError{Message: err.Error()}}
		code = 1
	}
	if err := json.NewEncoder(stdout).Encode(resp); err != nil {
		fmt.Fprintf(os.Stderr, "error: writing the hook response to stdout: %v\n", err)
		return 1
	}
	return code
}

func answer(hook string, stdin io.Reader) (any, error) {
	var req request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return nil, fmt.Errorf("the hook request on stdin is not {\"api\":1,\"hook\":...,\"input\":...}: %v", err)
	}
	if req.API != 1 {
		return nil, fmt.Errorf("gantry sent a request for plugin API %d and this plugin speaks API 1", req.API)
	}
	if req.Hook != hook {
		return nil, fmt.Errorf("the request on stdin is for hook %q but the arguments name hook %q", req.Hook, hook)
	}
	switch hook {
	case "scale.forecast":
		var in forecastInput
		if err := json.Unmarshal(req.Input, &in); err != nil {
			return nil, fmt.Errorf("invalid hook input: %v", err)
		}
		return forecastPeak(in)
	default:
		return nil, fmt.Errorf("this plugin does not serve hook %q; list it under [provides] hooks only if the plugin handles it", hook)
	}
}

type sample struct {
	T int64   `json:"t"`
	V float64 `json:"v"`
}

// The scale.forecast input: the recent load, oldest first, every interval_s seconds;
// forecast the next horizon_steps samples.
type forecastInput struct {
	Series       []sample `json:"series"`
	IntervalS    int64    `json:"interval_s"`
	HorizonSteps int64    `json:"horizon_steps"`
}

// The scale.forecast output: the peak load over the horizon at the median and the 90th
// percentile, when it is expected, and which model said so.
type forecastOutput struct {
	P50Peak float64 `json:"p50_peak"`
	P90Peak float64 `json:"p90_peak"`
	PeakAt  int64   `json:"peak_at"`
	Model   string  `json:"model"`
}

// forecastPeak is a placeholder model: the next horizon repeats the last one. The p50
// is the highest load of the last horizon_steps samples, expected at the same offset
// again; the p90 adds a quarter of that stretch's range.
func forecastPeak(in forecastInput) (forecastOutput, error) {
	if len(in.Series) == 0 {
		return forecastOutput{}, fmt.Errorf("the series is empty: there is nothing to forecast from")
	}
	if in.IntervalS < 1 || in.HorizonSteps < 1 {
		return forecastOutput{}, fmt.Errorf("interval_s and horizon_steps must be at least 1")
	}
	start := len(in.Series) - int(min(in.HorizonSteps, int64(len(in.Series))))
	recent := in.Series[start:]
	offset, peak, low := 0, recent[0].V, math.Inf(1)
	for i, s := range recent {
		if s.V > peak {
			offset, peak = i, s.V
		}
		low = math.Min(low, s.V)
	}
	last := in.Series[len(in.Series)-1].T
	return forecastOutput{
		P50Peak: peak,
		P90Peak: peak + 0.25*(peak-low),
		PeakAt:  last + int64(offset+1)*in.IntervalS,
		Model:   "{{name}}@0.1.0",
	}, nil
}

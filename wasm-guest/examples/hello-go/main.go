// hello-go: the hello example plugin written in Go, to show that any language that
// targets wasip1 can write a gantry plugin. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -o hello-go.wasm .
//
// Go cannot put a custom section into its modules, so the manifest lives beside the
// module as hello-go.toml; install or run the two together.
package main

import (
	"fmt"
	"os"
	"strings"
)

func greeting(args []string) string {
	if len(args) == 0 {
		return "Hello from a gantry plugin written in Go!"
	}
	return fmt.Sprintf("Hello, %s!", strings.Join(args, " "))
}

func main() {
	if _, err := fmt.Println(greeting(os.Args[1:])); err != nil {
		fmt.Fprintf(os.Stderr, "hello-go: writing to stdout: %v\n", err)
		os.Exit(1)
	}
}

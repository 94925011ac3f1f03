// Command pprof-server is the Go service gantry's profile tests capture from: it serves
// net/http/pprof, burns CPU in known functions, retains heap in known functions,
// contends on a mutex and a channel, and leaks goroutines when asked to.
//
// It prints "listening on HOST:PORT" once it accepts connections.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	retained [][]byte
	sink     atomic.Uint64
	leaking  atomic.Bool
	leaked   []chan struct{}
	leakMu   sync.Mutex
)

//go:noinline
func hotFib(n int) int {
	if n < 2 {
		return n
	}
	return hotFib(n-1) + hotFib(n-2)
}

//go:noinline
func hotHash(rounds int) {
	sum := sha256.Sum256([]byte("gantry"))
	for i := 0; i < rounds; i++ {
		sum = sha256.Sum256(sum[:])
	}
	sink.Add(uint64(sum[0]))
}

// burn keeps two hot spots busy: hotFib takes about twice the time of hotHash.
func burn() {
	for {
		sink.Add(uint64(hotFib(27)))
		hotHash(20000)
	}
}

//go:noinline
func retainLarge() {
	for i := 0; i < 32; i++ {
		retained = append(retained, make([]byte, 256<<10))
	}
}

//go:noinline
func retainSmall() {
	for i := 0; i < 20000; i++ {
		retained = append(retained, make([]byte, 64))
	}
}

//go:noinline
func leakOne() {
	ch := make(chan struct{})
	leakMu.Lock()
	leaked = append(leaked, ch)
	leakMu.Unlock()
	go blockedForever(ch)
}

//go:noinline
func blockedForever(ch chan struct{}) {
	<-ch
}

// leaker starts a goroutine that never returns every 20ms while leaking is on.
func leaker() {
	for range time.Tick(20 * time.Millisecond) {
		if leaking.Load() {
			leakOne()
		}
	}
}

// contend makes block and mutex profiles non-empty.
func contend() {
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		go func() {
			for {
				mu.Lock()
				time.Sleep(time.Millisecond)
				mu.Unlock()
			}
		}()
	}
	ch := make(chan int)
	go func() {
		for range time.Tick(5 * time.Millisecond) {
			ch <- 1
		}
	}()
	go func() {
		for range ch {
		}
	}()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpu := flag.Bool("burn", false, "keep the CPU hot spots busy")
	leak := flag.Bool("leak", false, "leak goroutines from the start (also: POST /leak?on=1)")
	contention := flag.Bool("contention", true, "record mutex and block profiles (off: they stay empty, as by default in Go)")
	flag.Parse()

	runtime.MemProfileRate = 4096
	if *contention {
		runtime.SetBlockProfileRate(1)
		runtime.SetMutexProfileFraction(1)
	}

	retainLarge()
	retainSmall()
	// Heap profiles show the heap as of the last collection.
	runtime.GC()
	leaking.Store(*leak)
	go leaker()
	contend()
	if *cpu {
		go burn()
	}

	http.HandleFunc("/leak", func(w http.ResponseWriter, r *http.Request) {
		leaking.Store(r.URL.Query().Get("on") == "1")
		fmt.Fprintf(w, "leaking=%v\n", leaking.Load())
	})
	http.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintln(w, "<!DOCTYPE html><html><body>Login required</body></html>")
	})
	http.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sesame" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		http.DefaultServeMux.ServeHTTP(w, withPath(r, r.URL.Path[len("/private"):]))
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, nil))
}

func withPath(r *http.Request, path string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	return r2
}

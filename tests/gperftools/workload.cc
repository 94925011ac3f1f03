// A small program profiled with gperftools (Debian's libgoogle-perftools-dev), so that
// gantry's profile tests read CPU and heap profiles in the formats gperftools really
// writes. Built and run by tests/profile_legacy.rs:
//
//   workload cpu OUT      CPU profile (ProfilerStart), legacy binary format
//   workload heap OUT     heap profile (HeapProfilerStart), written to OUT.0001.heap
//   workload sample OUT   tcmalloc's sampled heap (heap_v2); needs TCMALLOC_SAMPLE_PARAMETER
//   workload growth OUT   the stacks that grew the heap (growthz)
//
// C++ only for MallocExtension, which has no C interface for the last two.
#include <gperftools/heap-profiler.h>
#include <gperftools/malloc_extension.h>
#include <gperftools/profiler.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long spin_hash(unsigned long rounds) {
  unsigned long h = 1469598103934665603UL;
  for (unsigned long i = 0; i < rounds; i++) {
    h ^= i;
    h *= 1099511628211UL;
  }
  return h;
}

__attribute__((noinline)) static unsigned long spin_fib(int n) {
  return n < 2 ? (unsigned long)n : spin_fib(n - 1) + spin_fib(n - 2);
}

static void *kept[100000];
static int nkept;

__attribute__((noinline)) static void alloc_large(void) {
  for (int i = 0; i < 64; i++) {
    char *p = (char *)malloc(1 << 20);
    memset(p, 1, 1 << 20);
    kept[nkept++] = p;
  }
}

__attribute__((noinline)) static void alloc_small(void) {
  for (int i = 0; i < 20000; i++) {
    char *p = (char *)malloc(100);
    memset(p, 2, 100);
    if (i % 2) {
      kept[nkept++] = p;
    } else {
      free(p);
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: workload cpu|heap|sample|growth OUT\n");
    return 2;
  }
  const std::string mode = argv[1];
  const char *out = argv[2];
  if (mode == "cpu") {
    // More rounds make a profile that differs from the default one in a diff.
    const char *rounds_text = getenv("WORKLOAD_ROUNDS");
    const int rounds = rounds_text ? atoi(rounds_text) : 3;
    ProfilerStart(out);
    for (int r = 0; r < rounds; r++) {
      sink += spin_fib(29);
      sink += spin_hash(60000000);
    }
    ProfilerStop();
    return 0;
  }
  if (mode == "heap") HeapProfilerStart(out);
  alloc_large();
  alloc_small();
  if (mode == "heap") {
    HeapProfilerDump("end");
    HeapProfilerStop();
    return 0;
  }
  std::string text;
  if (mode == "sample") {
    MallocExtension::instance()->GetHeapSample(&text);
  } else if (mode == "growth") {
    MallocExtension::instance()->GetHeapGrowthStacks(&text);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  FILE *f = fopen(out, "w");
  if (f == NULL || fwrite(text.data(), 1, text.size(), f) != text.size() || fclose(f) != 0) {
    perror(out);
    return 1;
  }
  return 0;
}

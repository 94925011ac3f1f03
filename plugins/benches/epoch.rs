//! The cost of the deadline: the same CPU-bound module on an engine compiled with epoch
//! interruption (as gantry's host is, with a 10 ms ticker and a deadline callback)
//! against one without. Run with `cargo bench -p gantry-plugins --bench epoch`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmtime::{Config, Engine, Instance, Module, Store, UpdateDeadline};

/// A tight integer loop with a call per iteration: the worst case for epoch checks,
/// which sit at loop headers and function entries.
const CPU_BOUND: &str = r#"
(module
  (func $step (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.mul
    i64.const 0x9E3779B97F4A7C15
    i64.xor
    i64.const 1
    i64.rotl)
  (func (export "run") (param $n i64) (result i64)
    (local $acc i64) (local $i i64)
    (loop $l
      local.get $acc
      local.get $i
      call $step
      local.set $acc
      local.get $i
      i64.const 1
      i64.add
      local.tee $i
      local.get $n
      i64.lt_u
      br_if $l)
    local.get $acc))
"#;

const ITERATIONS: i64 = 20_000_000;

fn engine(epoch: bool) -> Engine {
    let mut config = Config::new();
    config.epoch_interruption(epoch);
    Engine::new(&config).expect("engine")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cpu_bound_20M_calls");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));

    let plain = engine(false);
    let module = Module::new(&plain, CPU_BOUND).expect("module");
    group.bench_function("no_deadline", |b| {
        b.iter(|| {
            let mut store = Store::new(&plain, ());
            let instance = Instance::new(&mut store, &module, &[]).expect("instance");
            let run = instance
                .get_typed_func::<i64, i64>(&mut store, "run")
                .expect("run");
            run.call(&mut store, ITERATIONS).expect("call")
        })
    });

    let epoch = engine(true);
    let module = Module::new(&epoch, CPU_BOUND).expect("module");
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (epoch.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                engine.increment_epoch();
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    group.bench_function("epoch_deadline", |b| {
        b.iter(|| {
            let mut store = Store::new(&epoch, ());
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |_| {
                if std::time::Instant::now() >= deadline {
                    wasmtime::bail!("deadline");
                }
                Ok(UpdateDeadline::Continue(1))
            });
            let instance = Instance::new(&mut store, &module, &[]).expect("instance");
            let run = instance
                .get_typed_func::<i64, i64>(&mut store, "run")
                .expect("run");
            run.call(&mut store, ITERATIONS).expect("call")
        })
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
    ticker.join().expect("ticker");
}

criterion_group!(benches, bench);
criterion_main!(benches);

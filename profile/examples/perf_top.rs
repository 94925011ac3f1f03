// Throwaway driver for profiling `top` (not committed).
use gantry_profile::{Origin, Profile, TopOptions};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let reps: usize = std::env::args().nth(2).map_or(1, |s| s.parse().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..reps {
        let p = Profile::decode(&bytes, Origin::File(path.clone().into())).unwrap();
        let d = t.elapsed();
        let r = gantry_profile::top::top(&p, None, &TopOptions::default()).unwrap();
        eprintln!("decode {:?} total {:?}", d, t.elapsed());
        std::hint::black_box(r.to_table());
    }
}

//! Message benchmarks: the zero-copy cloud view and TrackedObjects encoding.
fn main() {}

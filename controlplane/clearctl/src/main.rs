//! clearctl, the operator's CLI for Clearway.
fn main() {}

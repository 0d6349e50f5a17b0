//! Prints the reliability group's summary table from the rows its
//! scenarios wrote, and exits 1 when a scenario's row is missing or shows
//! a loss. `--clear` removes old rows first (run it before the suite, so a
//! scenario that did not run cannot pass on last time's row).

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = reliability::rows_dir();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--clear") {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                eprintln!("reliability-summary: cannot clear {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    if let Some(other) = args.first() {
        eprintln!("reliability-summary: unknown argument {other:?}; use no argument (print and check) or --clear");
        return ExitCode::from(2);
    }
    let summary = reliability::check(&dir);
    print!("{}", reliability::render(&summary));
    println!("(rows from {})", dir.display());
    if summary.passed() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "reliability-summary: FAILED: a scenario's row is missing or shows a loss (see above)"
        );
        ExitCode::FAILURE
    }
}

//! The `suture` binary: everything lives in the library so tests boot the same code.

fn main() -> std::process::ExitCode {
    suture_server::cli::main()
}

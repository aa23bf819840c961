//! The `fusion-node` command line; all logic lives in the library.

fn main() -> std::process::ExitCode {
    fusion_node::cli::main()
}

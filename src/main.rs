//! The `moonhost` command; see [`moonhost::cli`].

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    std::process::exit(moonhost::cli::main());
}

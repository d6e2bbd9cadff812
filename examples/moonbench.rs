include!("../benches/moonbench.rs");

//! The `clawlet` binary. The gateway and operator CLI land with their own issue.
fn main() {
    eprintln!("clawlet: the gateway and operator CLI are not built yet");
    std::process::exit(2);
}

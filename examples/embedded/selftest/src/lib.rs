//! The self-test both embedded proofs run: the no_std host binary (`../nostd-host`) and the
//! Cortex-M4 firmware under QEMU (`../firmware`). Pure node-core calls, no I/O: each platform
//! passes a [`Report`] that prints one line.
#![no_std]

extern crate alloc;

use alloc::string::String;
// Linked even while nothing is called yet, so a std leak in node-core fails the build.
use clawlet_node_core as _;
use core::fmt;

/// Where the self-test prints its progress, one line per check.
pub trait Report {
    fn line(&mut self, args: fmt::Arguments<'_>);
}

/// A failed check: what was expected and what was seen.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Run every check; the first failure stops the run.
pub fn run(out: &mut dyn Report) -> Result<(), Failure> {
    // TODO(node-core session): identity vector, frame parse, NodeSession handshake + invoke.
    out.line(format_args!("check scaffold: node-core linked"));
    Ok(())
}

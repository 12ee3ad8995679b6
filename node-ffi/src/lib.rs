//! The std node runtime over tokio + rustls and the UniFFI surface (issue: node-ffi).

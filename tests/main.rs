//! otpkit's integration suite, one binary (links faster on small machines).

#[path = "../examples/support/local_server.rs"]
mod local_server;
mod table;

mod accept;
mod cli;
mod faults;
mod generic_manage;
mod magic;
mod properties;
mod record;
mod replay;
mod retries;
mod sandbox_flow;
mod sandbox_wire;
mod scan;
mod secrets;
mod tls;
mod transport;
mod validation;

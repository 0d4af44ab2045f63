//! otpkit's integration suite, one binary (links faster on small machines).

#[path = "../examples/support/local_server.rs"]
mod local_server;
mod table;

mod faults;
mod properties;
mod replay;
mod retries;
mod scan;
mod secrets;
mod validation;

//! otpkit's integration suite, one binary (links faster on small machines).

mod cli;
mod generic_manage;
mod replay;
mod sandbox_flow;
mod sandbox_wire;
mod secrets;
mod transport;

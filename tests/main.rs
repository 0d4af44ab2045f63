//! otpkit's integration suite, one binary (links faster on small machines).

mod replay;
mod sandbox_flow;
mod sandbox_wire;
mod secrets;

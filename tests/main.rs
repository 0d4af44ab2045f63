//! otpkit's integration suite, one binary (links faster on small machines).

mod cli;
mod replay;
mod secrets;

//! otpkit's integration suite, one binary (links faster on small machines).

mod replay;
mod secrets;

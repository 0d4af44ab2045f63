//! otpkit's integration suite, one binary (links faster on small machines).

#[path = "../examples/support/local_server.rs"]
mod local_server;
#[cfg(feature = "redis")]
#[path = "../examples/support/redis_server.rs"]
mod redis_server;
#[path = "../examples/support/signup_app.rs"]
mod signup_app;
mod table;

mod built_examples;

mod accept;
mod cli;
mod faults;
mod fuzz;
mod generic_manage;
mod guard;
#[cfg(feature = "redis")]
mod guard_redis;
mod handles;
mod hostile;
mod magic;
mod portability;
mod properties;
mod record;
mod replay;
mod retries;
mod router;
mod sandbox_flow;
mod sandbox_wire;
mod scan;
mod secrets;
mod signup_service;
mod tls;
mod transport;
mod validation;

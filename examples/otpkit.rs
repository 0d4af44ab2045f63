//! The otpkit command line: send, verify, resend and check codes with any configured provider.
//!
//! ```text
//! cargo run --example otpkit -- [--config FILE] send <recipient> [--purpose P] [--channel C] [--ip ADDR]
//! cargo run --example otpkit -- [--config FILE] verify --handle <token> <code>
//! cargo run --example otpkit -- [--config FILE] resend --handle <token>
//! cargo run --example otpkit -- [--config FILE] status --handle <token>
//! cargo run --example otpkit -- [--config FILE] capabilities
//! ```
//!
//! `--record DIR` (before the command) writes each HTTP exchange of the run into `DIR` as a
//! fixture file, scrubbed of credentials, codes, emails and phone numbers (see
//! `otpkit::record`); `otpkit::testing::replay_scenario(DIR)` replays them.
//!
//! A router config (`provider = "router"`, contract §7) works with every command; `send` and
//! `resend` then also print `"member"`, and `provider` is the id of the member's provider.
//!
//! Without `--config` the environment is read (`OTPKIT_CONFIG`, or `OTPKIT_PROVIDER` plus
//! `OTPKIT_<KEY>`). Every command prints exactly one JSON object on stdout. Exit codes: 0 on
//! success, 1 when the code was rejected, 2 for configuration and usage errors, 3 for any other
//! error. Set `RUST_LOG=otpkit=debug` to see each exchange on stderr (secrets never appear).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use otpkit::{
    Capabilities, Channel, Error, ErrorKind, HttpOptions, OtpProvider, ProviderConfig, Purpose,
    Recipient, SendReceipt, SendRequest, Verification,
};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "otpkit",
    about = "Send and verify one-time passwords through any provider"
)]
struct Cli {
    /// A TOML or JSON config file (otherwise the environment is read).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Write each HTTP exchange of this run as a scrubbed fixture file in this folder.
    #[arg(long, global = true, value_name = "DIR")]
    record: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send a code to an email address or an E.164 phone number.
    Send {
        /// `user@example.com` or `+14155550123`.
        #[arg(value_name = "recipient")]
        recipient: String,
        /// signup, login, reset_password, update_userinfo or another word.
        #[arg(long, value_name = "P")]
        purpose: Option<String>,
        /// email, sms, whatsapp, voice or viber.
        #[arg(long, value_name = "C")]
        channel: Option<String>,
        /// The end user's IP address (counted by a `[guard]` table's `ip_sends`).
        #[arg(long)]
        ip: Option<String>,
    },
    /// Check the code the user typed.
    Verify {
        /// The handle `send` printed.
        #[arg(long, value_name = "token")]
        handle: String,
        /// The code.
        #[arg(value_name = "code")]
        code: String,
    },
    /// Send the code again.
    Resend {
        /// The handle `send` printed.
        #[arg(long, value_name = "token")]
        handle: String,
    },
    /// Ask where the verification stands.
    Status {
        /// The handle `send` printed.
        #[arg(long, value_name = "token")]
        handle: String,
    },
    /// Say what the configured provider can do, without a request.
    Capabilities,
}

/// The success output of `send` and `resend` (field order fixed: scripts read it).
#[derive(Serialize)]
struct Sent<'a> {
    ok: bool,
    provider: &'a str,
    /// The router member that sent (contract §7); absent for a single provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
    handle: String,
    expires_in_secs: Option<u64>,
    resend_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct VerifiedOut {
    ok: bool,
    verified: bool,
}

#[derive(Serialize)]
struct StatusOut<'a> {
    ok: bool,
    status: &'a str,
}

#[derive(Serialize)]
struct CapabilitiesOut<'a> {
    ok: bool,
    provider: &'a str,
    #[serde(flatten)]
    capabilities: &'a Capabilities,
}

#[derive(Serialize)]
struct Failed<'a> {
    ok: bool,
    error: &'a Error,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version print their text and succeed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            return fail(&Error::new(
                ErrorKind::Config,
                format!("usage: {}", usage_problem(&e)),
            ))
        }
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&Error::new(ErrorKind::Transport, e.to_string())),
    };
    match runtime.block_on(run(cli)) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// Tracing goes to stderr so stdout holds only the JSON answer.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<String, Error> {
    // Everything the user typed is checked before the provider is built or called.
    let config = match &cli.config {
        Some(path) => ProviderConfig::from_file(path)?,
        None => ProviderConfig::from_env()?,
    };
    let mut options = HttpOptions::default();
    if let Some(dir) = &cli.record {
        options = options.record_to(dir);
    }
    let config = Configured { config, options };
    match cli.command {
        Command::Send {
            recipient,
            purpose,
            channel,
            ip,
        } => {
            let mut request = SendRequest::new(Recipient::parse(&recipient)?);
            if let Some(purpose) = purpose {
                request = request.purpose(Purpose::parse(&purpose)?);
            }
            if let Some(channel) = channel {
                request = request.channel(Channel::parse(&channel)?);
            }
            if let Some(ip) = ip {
                let ip = ip.trim().parse().map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidRequest,
                        "--ip must be an IPv4 or IPv6 address",
                    )
                })?;
                request = request.end_user_ip(ip);
            }
            let provider = config.build()?;
            sent(&provider.send(&request).await?)
        }
        Command::Verify { handle, code } => {
            let handle = Verification::from_token(&handle)?;
            let provider = config.build()?;
            provider.verify(&handle, &code).await?;
            to_json(&VerifiedOut {
                ok: true,
                verified: true,
            })
        }
        Command::Resend { handle } => {
            let handle = Verification::from_token(&handle)?;
            let provider: Box<dyn OtpProvider> = config.build()?;
            sent(&provider.resend(&handle).await?)
        }
        Command::Status { handle } => {
            let handle = Verification::from_token(&handle)?;
            let report = config.build()?.status(&handle).await?;
            to_json(&StatusOut {
                ok: true,
                status: report.state.as_str(),
            })
        }
        Command::Capabilities => {
            let provider = config.build()?;
            to_json(&CapabilitiesOut {
                ok: true,
                provider: provider.id(),
                capabilities: provider.capabilities(),
            })
        }
    }
}

/// The config read, and the HTTP options of this run (`--record`).
struct Configured {
    config: ProviderConfig,
    options: HttpOptions,
}

impl Configured {
    fn build(&self) -> Result<Box<dyn OtpProvider>, Error> {
        self.config.build_with(&self.options)
    }
}

fn sent(receipt: &SendReceipt) -> Result<String, Error> {
    to_json(&Sent {
        ok: true,
        provider: receipt.verification.provider(),
        member: receipt.verification.member(),
        handle: receipt.verification.to_token(),
        expires_in_secs: receipt.expires_in.map(|d| d.as_secs()),
        resend_after_secs: receipt.resend_after.map(|d| d.as_secs()),
    })
}

fn to_json(value: &impl Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::unexpected(e.to_string()))
}

fn fail(error: &Error) -> ExitCode {
    let out = Failed { ok: false, error };
    match serde_json::to_string(&out) {
        Ok(json) => println!("{json}"),
        Err(_) => println!("{{\"ok\":false,\"error\":{{\"kind\":\"unexpected_response\"}}}}"),
    }
    ExitCode::from(exit_code(error.kind()))
}

/// What is wrong with the command line, in one line that names the argument: the missing one,
/// the unknown one, or the option left without its value.
fn usage_problem(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind as Usage};
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(one)) => Some(one.clone()),
        Some(ContextValue::Strings(many)) if !many.is_empty() => Some(many.join(", ")),
        _ => None,
    };
    let argument = context(ContextKind::InvalidArg);
    let named = match error.kind() {
        Usage::MissingRequiredArgument => argument.map(|a| format!("missing {a}")),
        Usage::MissingSubcommand | Usage::DisplayHelpOnMissingArgumentOrSubcommand => {
            let commands: Vec<String> = Cli::command()
                .get_subcommands()
                .map(|c| c.get_name().to_owned())
                .collect();
            Some(format!("missing command: one of {}", commands.join(", ")))
        }
        Usage::InvalidSubcommand => {
            context(ContextKind::InvalidSubcommand).map(|c| format!("unknown command `{c}`"))
        }
        Usage::UnknownArgument => argument.map(|a| format!("unknown argument `{a}`")),
        Usage::InvalidValue if context(ContextKind::InvalidValue).is_none_or(|v| v.is_empty()) => {
            argument.map(|a| format!("missing the value of {a}"))
        }
        _ => None,
    };
    named.unwrap_or_else(|| {
        // clap's own first line, without its `error: ` prefix.
        let text = error.to_string();
        let first = text.lines().next().unwrap_or("invalid arguments");
        first.strip_prefix("error: ").unwrap_or(first).to_owned()
    })
}

fn exit_code(kind: ErrorKind) -> u8 {
    if kind.is_rejection() {
        1
    } else if kind == ErrorKind::Config {
        2
    } else {
        3
    }
}

//! `relivchats`: the API, the Temporal worker, and the operator's commands in one binary.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use relivchats::{
    Application, Config, Role, config::Environment, db, seed, startup, telemetry, temporal,
};
use relivchats_api::auth::{AuthSettings, mint_dev_token};
use relivchats_domain::UserId;

#[derive(Debug, Parser)]
#[command(
    name = "relivchats",
    version,
    about = "RelivChats: WhatsApp chat statistics and AI insights"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the Temporal worker in one process (the local default).
    Serve {
        /// Address to listen on (default BIND_ADDR, else 127.0.0.1:8000).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Run only the HTTP API.
    Api {
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Run only the Temporal worker (workflows and activities).
    Worker,
    /// Apply pending database migrations (idempotent).
    Migrate,
    /// Upsert categories, insight types and coin packages (idempotent).
    Seed,
    /// Print a dev-auth bearer token (AUTH_MODE=dev only).
    Token {
        /// The user id (the token's `sub`).
        #[arg(long)]
        user: String,
        #[arg(long)]
        email: Option<String>,
        /// Lifetime, e.g. `30m`, `24h`, `7d`.
        #[arg(long, default_value = "24h")]
        ttl: humantime::Duration,
    },
    /// Run the HealthProbe workflow through Temporal and print its result.
    Probe,
    /// Read a WhatsApp export (.txt or .zip) without a server: parse it or compute its
    /// statistics, as JSON on stdout.
    Chat {
        #[command(subcommand)]
        command: ChatCommand,
    },
    /// Evaluate the configured model provider on labelled chats.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ChatCommand {
    /// Print the messages as a JSON array of {timestamp, author, message}, in file order.
    Parse {
        file: std::path::PathBuf,
        /// Print only {messages, authors, first, last, unreadable_lines}.
        #[arg(long)]
        summary: bool,
    },
    /// Print the chat_metadata statistics JSON.
    Stats { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Generate every insight of each chat's category with LLM_PROVIDER and print label
    /// accuracy, evidence fidelity and placement, distinct sentences and time per insight.
    Insights {
        /// Labelled chats (`<name>.txt` + `<name>.json`).
        #[arg(default_value = relivchats::eval::DEFAULT_DIR)]
        dir: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add (or, with a negative N, remove) coins: an `admin_adjustment` ledger entry. Creates
    /// the user if needed; never takes the balance below zero or below what unlocks hold.
    Grant {
        #[arg(long)]
        user: String,
        #[arg(long, allow_hyphen_values = true)]
        coins: i32,
        #[arg(long)]
        reason: String,
    },
    /// List payment orders, newest first, one JSON object per line (e.g. `--status flagged`:
    /// payments whose amount or currency did not match, waiting for an operator).
    Orders {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// List unlock workflows (the same filter works in the Temporal UI).
    Unlocks {
        #[arg(long)]
        user: Option<String>,
        /// The `UnlockStatus` search attribute: queued, indexing, generating, completed,
        /// partial_failure, failed, refunded (runs started before the `unlock-v2` patch may
        /// also show reserving or settling).
        #[arg(long)]
        status: Option<String>,
    },
    /// Refund an unlock: signals `manual_refund` to its workflow (release before capture, a
    /// `refund` ledger entry after).
    Refund {
        #[arg(long)]
        chat: uuid::Uuid,
        /// Category slug (romantic, friendship, family, workplace) or id.
        #[arg(long)]
        category: String,
        #[arg(long)]
        reason: String,
        /// Who is refunding (recorded with the reason).
        #[arg(long, env = "USER", default_value = "operator")]
        operator: String,
    },
}

#[tokio::main]
async fn main() {
    if let Err(err) = run(Cli::parse().command).await {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    // Reading a file needs no configuration (and must not create any under DATA_DIR).
    if let Command::Chat { command } = &command {
        return chat_command(command);
    }
    // A `.env` file is a development convenience; real environment variables win.
    let _ = dotenvy::dotenv();
    // The evaluation needs only the provider variables, not a database or Temporal.
    if let Command::Eval {
        command: EvalCommand::Insights { dir },
    } = &command
    {
        return eval_insights(dir).await;
    }
    let mut config = Config::from_env()?;
    telemetry::init(config.log_format);
    match command {
        Command::Serve { bind } | Command::Api { bind } => {
            let role = match command {
                Command::Serve { .. } => Role::Serve,
                _ => Role::Api,
            };
            config.bind_addr = bind.unwrap_or(config.bind_addr);
            serve(&config, role).await
        }
        Command::Worker => serve(&config, Role::Worker).await,
        Command::Migrate => migrate(&config).await,
        Command::Seed => {
            let pool = db::connect(config.database_url.expose(), 2, false).await?;
            println!("{}", serde_json::to_string(&seed::run(&pool).await?)?);
            Ok(())
        }
        Command::Token { user, email, ttl } => token(&config, &user, email.as_deref(), ttl),
        Command::Probe => {
            let client = temporal::connect(&config.temporal, Duration::from_secs(10)).await?;
            let (id, out) = temporal::run_probe(
                &client,
                &config.temporal.task_queue,
                "cli",
                Duration::from_secs(30),
            )
            .await?;
            println!("{}", serde_json::json!({"workflow_id": id, "result": out}));
            Ok(())
        }
        Command::Admin { command } => admin(&config, command).await,
        Command::Chat { .. } | Command::Eval { .. } => {
            unreachable!("handled before configuration is read")
        }
    }
}

async fn eval_insights(dir: &std::path::Path) -> anyhow::Result<()> {
    let report = relivchats::eval::insights(dir, &std::env::vars().collect()).await?;
    print!("{report}");
    let missed = report.missed_goals();
    if missed.is_empty() {
        println!("goals: all met");
    } else {
        println!("goals missed: {}", missed.join("; "));
    }
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = db::connect(
        config.database_url.expose(),
        2,
        config.environment == Environment::Development,
    )
    .await?;
    db::migrate(&pool).await?;
    println!("migrations applied");
    let report = relivchats::legacy_messages::convert(
        &pool,
        &startup::cipher(config)?,
        config.message_blocks,
    )
    .await?;
    println!(
        "messages converted to blocks: {} chats, {} messages, {} blocks",
        report.chats, report.messages, report.blocks
    );
    Ok(())
}

fn token(
    config: &Config,
    user: &str,
    email: Option<&str>,
    ttl: humantime::Duration,
) -> anyhow::Result<()> {
    let AuthSettings::Dev { secret } = &config.auth else {
        bail!(
            "`token` mints dev-auth tokens, but AUTH_MODE is clerk: sign in through Clerk instead"
        );
    };
    let user = UserId::parse(user).context("--user")?;
    println!("{}", mint_dev_token(secret, &user, email, ttl.into())?);
    Ok(())
}

/// `--reason` is written into the ledger, so it must say something.
fn reason(reason: &str) -> anyhow::Result<&str> {
    match reason.trim() {
        "" => bail!("--reason must say why (it is written into the ledger)"),
        reason => Ok(reason),
    }
}

async fn admin(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    let pool = || db::connect(config.database_url.expose(), 2, false);
    let client = || temporal::connect(&config.temporal, Duration::from_secs(10));
    match command {
        AdminCommand::Unlocks { user, status } => {
            let client = client().await?;
            for line in
                relivchats::admin::list_unlocks(&client, user.as_deref(), status.as_deref()).await?
            {
                println!("{line}");
            }
        }
        AdminCommand::Refund {
            chat,
            category,
            reason: why,
            operator,
        } => {
            let why = reason(&why)?;
            let (pool, client) = (pool().await?, client().await?);
            let id =
                relivchats::admin::refund_unlock(&pool, &client, chat, &category, why, &operator)
                    .await?;
            println!("manual_refund sent to {id}");
        }
        AdminCommand::Grant {
            user,
            coins,
            reason: why,
        } => {
            let user = UserId::parse(&user).context("--user")?;
            let why = reason(&why)?;
            let adjustment =
                relivchats_api::ledger::admin_adjust(&pool().await?, &user, coins, why).await?;
            println!("{}", serde_json::to_string(&adjustment)?);
        }
        AdminCommand::Orders { status, limit } => {
            let pool = pool().await?;
            for order in relivchats::payments::list_orders(&pool, status.as_deref(), limit).await? {
                println!("{}", serde_json::to_string(&order)?);
            }
        }
    }
    Ok(())
}

fn chat_command(command: &ChatCommand) -> anyhow::Result<()> {
    use relivchats_domain::{import, whatsapp};
    type Render = fn(&[u8]) -> Result<String, whatsapp::ImportError>;
    let (path, render): (_, Render) = match command {
        ChatCommand::Parse {
            file,
            summary: false,
        } => (file, import::parse_to_cli_json),
        ChatCommand::Parse {
            file,
            summary: true,
        } => (file, import::summary_json),
        ChatCommand::Stats { file } => (file, import::stats_json),
    };
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json = render(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}

async fn serve(config: &Config, role: Role) -> anyhow::Result<()> {
    let app = Application::build(config, role).await?;
    if let Some(addr) = app.local_addr() {
        let api = format!("http://{addr}");
        println!("RelivChats API      {api}");
        println!("API docs            {api}/docs   (OpenAPI: {api}/openapi.json)");
        if app.metrics_addr().is_none()
            && config.metrics.listener == relivchats::config::MetricsListener::Api
        {
            println!("Metrics             {api}/metrics");
        }
    }
    if role == Role::Worker {
        println!(
            "Temporal worker polling task queues {:?} and {:?} (model calls)",
            config.temporal.task_queue, config.temporal.model_task_queue
        );
    }
    if let Some(metrics) = app.metrics_addr() {
        println!("Metrics             http://{metrics}/metrics");
    }
    if role != Role::Worker
        && let Some(ui) = temporal_ui_url(config)
    {
        println!(
            "Temporal UI         {ui}/namespaces/{}/workflows",
            config.temporal.namespace
        );
    }
    if role == Role::Serve {
        // Prove the wiring once: the probe shows up in the Temporal UI.
        let client = app.client().clone();
        let queue = config.temporal.task_queue.clone();
        tokio::spawn(async move {
            match temporal::run_probe(&client, &queue, "serve", Duration::from_secs(60)).await {
                Ok((id, out)) => {
                    tracing::info!(workflow_id = %id, database = %out.database_version, "health probe workflow completed")
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "health probe workflow failed")
                }
            }
        });
    }
    app.run_until_stopped(startup::shutdown_signal()).await
}

/// The UI of the dev server started by `scripts/dev`, unless TEMPORAL_UI_URL says otherwise.
fn temporal_ui_url(config: &Config) -> Option<String> {
    if let Some(url) = &config.temporal.ui_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let addr = config.temporal.address.trim_start_matches("http://");
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    // The dev server puts its UI 1000 ports above the frontend (7233 → 8233).
    (host == "127.0.0.1" || host == "localhost").then(|| format!("http://{host}:{}", port + 1000))
}

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
    if let Err(err) = run().await {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Reading a file needs no configuration (and must not create any under DATA_DIR).
    if let Command::Chat { command } = &cli.command {
        return chat_command(command);
    }
    // A `.env` file is a development convenience; real environment variables win.
    let _ = dotenvy::dotenv();
    // The evaluation needs only the provider variables, not a database or Temporal.
    if let Command::Eval {
        command: EvalCommand::Insights { dir },
    } = &cli.command
    {
        let report = relivchats::eval::insights(dir, &std::env::vars().collect()).await?;
        print!("{report}");
        let missed = report.missed_goals();
        if missed.is_empty() {
            println!("goals: all met");
        } else {
            println!("goals missed: {}", missed.join("; "));
        }
        return Ok(());
    }
    let mut config = Config::from_env()?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve { bind } => {
            config.bind_addr = bind.unwrap_or(config.bind_addr);
            serve(&config, Role::Serve).await
        }
        Command::Api { bind } => {
            config.bind_addr = bind.unwrap_or(config.bind_addr);
            serve(&config, Role::Api).await
        }
        Command::Worker => {
            let worker = startup::WorkerProcess::build(&config).await?;
            println!(
                "Temporal worker polling task queues {:?} and {:?} (model calls)",
                config.temporal.task_queue, config.temporal.model_task_queue
            );
            if let Some(addr) = worker.metrics_addr() {
                println!("Metrics             http://{addr}/metrics");
            }
            worker.run_until_stopped(startup::shutdown_signal()).await
        }
        Command::Migrate => {
            let pool = db::connect(
                config.database_url.expose(),
                2,
                config.environment == Environment::Development,
            )
            .await?;
            db::migrate(&pool).await?;
            println!("migrations applied");
            let cipher = relivchats_domain::crypto::Cipher::new(config.encryption_key.expose())
                .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY: {e}"))?;
            let report =
                relivchats::legacy_messages::convert(&pool, &cipher, config.message_blocks).await?;
            println!(
                "messages converted to blocks: {} chats, {} messages, {} blocks",
                report.chats, report.messages, report.blocks
            );
            Ok(())
        }
        Command::Seed => {
            let pool = db::connect(config.database_url.expose(), 2, false).await?;
            let report = seed::run(&pool).await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Token { user, email, ttl } => {
            let AuthSettings::Dev { secret } = &config.auth else {
                bail!(
                    "`token` mints dev-auth tokens, but AUTH_MODE is clerk: sign in through Clerk instead"
                );
            };
            let user = UserId::parse(&user).context("--user")?;
            println!(
                "{}",
                mint_dev_token(secret, &user, email.as_deref(), ttl.into())?
            );
            Ok(())
        }
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
        Command::Chat { .. } | Command::Eval { .. } => {
            unreachable!("handled before configuration is read")
        }
        Command::Admin {
            command: AdminCommand::Unlocks { user, status },
        } => {
            let client = temporal::connect(&config.temporal, Duration::from_secs(10)).await?;
            for line in
                relivchats::admin::list_unlocks(&client, user.as_deref(), status.as_deref()).await?
            {
                println!("{line}");
            }
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Refund {
                    chat,
                    category,
                    reason,
                    operator,
                },
        } => {
            if reason.trim().is_empty() {
                bail!("--reason must say why (it is written into the ledger)");
            }
            let pool = db::connect(config.database_url.expose(), 2, false).await?;
            let client = temporal::connect(&config.temporal, Duration::from_secs(10)).await?;
            let id = relivchats::admin::refund_unlock(
                &pool,
                &client,
                chat,
                &category,
                reason.trim(),
                &operator,
            )
            .await?;
            println!("manual_refund sent to {id}");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Grant {
                    user,
                    coins,
                    reason,
                },
        } => {
            let user = UserId::parse(&user).context("--user")?;
            if reason.trim().is_empty() {
                bail!("--reason must say why (it is written into the ledger)");
            }
            let pool = db::connect(config.database_url.expose(), 2, false).await?;
            let adjustment =
                relivchats_api::ledger::admin_adjust(&pool, &user, coins, reason.trim()).await?;
            println!("{}", serde_json::to_string(&adjustment)?);
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Orders { status, limit },
        } => {
            let pool = db::connect(config.database_url.expose(), 2, false).await?;
            for order in relivchats::payments::list_orders(&pool, status.as_deref(), limit).await? {
                println!("{}", serde_json::to_string(&order)?);
            }
            Ok(())
        }
    }
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
    let addr = app.local_addr();
    let api = format!("http://{addr}");
    println!("RelivChats API      {api}");
    println!("API docs            {api}/docs   (OpenAPI: {api}/openapi.json)");
    match app.metrics_addr() {
        Some(metrics) => println!("Metrics             http://{metrics}/metrics"),
        None if config.metrics.listener == relivchats::config::MetricsListener::Api => {
            println!("Metrics             {api}/metrics")
        }
        None => {}
    }
    if let Some(ui) = temporal_ui_url(config) {
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

use super::*;

#[test]
fn production_refuses_dev_auth() {
    let err = Config::from_map(&map(&[
        ("ENVIRONMENT", "production"),
        ("DATABASE_URL", "postgres://x/y"),
        ("AUTH_MODE", "dev"),
        (
            "ENCRYPTION_KEY",
            &relivchats_domain::crypto::Cipher::generate_key(),
        ),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn production_defaults_to_clerk_and_needs_jwks() {
    let err = Config::from_map(&map(&[
        ("ENVIRONMENT", "production"),
        ("DATABASE_URL", "postgres://x/y"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("CLERK_JWKS_URL"), "{err}");
}

#[test]
fn production_requires_the_clerk_issuer() {
    let mut vars = map(&[
        ("ENVIRONMENT", "production"),
        ("DATABASE_URL", "postgres://x/y"),
        (
            "CLERK_JWKS_URL",
            "https://clerk.example.com/.well-known/jwks.json",
        ),
        (
            "ENCRYPTION_KEY",
            "Gm0nGnBd2M0oP2lYw7mC9r1kq8Tq1xZ5cI4b6yQe3Vs=",
        ),
    ]);
    let err = Config::from_map(&vars).unwrap_err();
    assert!(err.to_string().contains("CLERK_ISSUER"), "{err}");
    vars.insert("CLERK_ISSUER".into(), "https://clerk.example.com".into());
    let config = Config::from_map(&vars).unwrap();
    match &config.auth {
        AuthSettings::Clerk(c) => {
            assert_eq!(c.issuer.as_deref(), Some("https://clerk.example.com"))
        }
        AuthSettings::Dev { .. } => panic!("production must use Clerk"),
    }
}

#[test]
fn dev_secret_is_generated_once() {
    let dir = std::env::temp_dir().join(format!("reliv-cfg-{}", uuid::Uuid::new_v4()));
    let vars = map(&[("DATA_DIR", dir.to_str().unwrap())]);
    let a = Config::from_map(&vars).unwrap();
    let b = Config::from_map(&vars).unwrap();
    let secret = |c: &Config| match &c.auth {
        AuthSettings::Dev { secret } => secret.expose().to_owned(),
        AuthSettings::Clerk(_) => panic!("expected dev auth"),
    };
    assert_eq!(secret(&a), secret(&b));
    assert_eq!(secret(&a).len(), 64);
    assert!(
        !format!("{a:?}").contains(&secret(&a)),
        "Debug must redact secrets"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn metrics_are_on_the_api_in_development_and_apart_in_production() {
    let dev = metrics_config(&|_| None, false).unwrap();
    assert_eq!(dev.listener, MetricsListener::Api);
    assert_eq!(dev.separate_addr(), None);
    assert_eq!(dev.worker_addr(), Some(DEFAULT_METRICS_ADDR));
    let prod = metrics_config(&|_| None, true).unwrap();
    assert_eq!(
        prod.listener,
        MetricsListener::Separate(DEFAULT_METRICS_ADDR)
    );
    let vars = map(&[
        ("METRICS_BIND_ADDR", "0.0.0.0:9500"),
        ("METRICS_TOKEN", "t"),
    ]);
    let get = |k: &str| lookup(&vars, k);
    let set = metrics_config(&get, true).unwrap();
    assert_eq!(set.separate_addr(), Some("0.0.0.0:9500".parse().unwrap()));
    assert_eq!(set.token.as_ref().map(Secret::expose), Some("t"));
    let off = map(&[("METRICS_BIND_ADDR", "off")]);
    let off = metrics_config(&|k| lookup(&off, k), false).unwrap();
    assert_eq!((off.separate_addr(), off.worker_addr()), (None, None));
    let bad = map(&[("METRICS_BIND_ADDR", "everywhere")]);
    let err = metrics_config(&|k| lookup(&bad, k), false).unwrap_err();
    assert!(err.to_string().contains("METRICS_BIND_ADDR"), "{err}");
}

#[test]
fn lists_accept_json_or_commas() {
    assert_eq!(
        parse_list(r#"["https://a","https://b"]"#),
        vec!["https://a", "https://b"]
    );
    assert_eq!(
        parse_list("https://a, https://b"),
        vec!["https://a", "https://b"]
    );
}

//! The documented Compose stack publishes only the API.

/// Reads a YAML document from the repository.
fn yaml(path: &str) -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap()
        .remove(0)
}

/// The documented stack publishes only the API: Temporal (anyone who reaches it can start a
/// `TopUp` or signal a refund) and Qdrant stay on the internal network, Qdrant needs a key,
/// sign-in is Clerk's, and the image defaults to production.
#[test]
fn the_compose_stack_publishes_only_the_api() {
    let compose = yaml("docker-compose.yml");
    let services = compose["services"].as_hash().unwrap();
    let mut published = Vec::new();
    for (name, service) in services {
        let name = name.as_str().unwrap();
        if let Some(ports) = service["ports"].as_vec() {
            let operators_only = service["profiles"]
                .as_vec()
                .is_some_and(|p| p.iter().any(|p| p.as_str() == Some("ops")));
            if operators_only {
                // The operators' UI: on demand, and on the host's loopback only.
                for port in ports {
                    assert!(
                        port.as_str().unwrap().starts_with("127.0.0.1:"),
                        "{name} publishes {port:?} beyond loopback"
                    );
                }
            } else {
                published.push(name.to_owned());
            }
        }
    }
    assert_eq!(published, vec!["api".to_owned()]);
    assert_eq!(
        compose["networks"]["backend"]["internal"].as_bool(),
        Some(true)
    );
    for name in ["postgres", "temporal", "qdrant"] {
        let networks: Vec<&str> = services[&yaml_rust2::Yaml::from_str(name)]["networks"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(networks, vec!["backend"], "{name}");
    }
    let qdrant = &services[&yaml_rust2::Yaml::from_str("qdrant")];
    assert!(
        qdrant["environment"]["QDRANT__SERVICE__API_KEY"]
            .as_str()
            .unwrap()
            .contains(":?"),
        "Qdrant must require an API key"
    );
    let env = &compose["x-app-env"];
    assert_eq!(env["AUTH_MODE"].as_str(), Some("clerk"));
    assert_eq!(
        env["ENVIRONMENT"].as_str(),
        Some("${ENVIRONMENT:-production}")
    );
    for required in [
        "CLERK_JWKS_URL",
        "CLERK_ISSUER",
        "ENCRYPTION_KEY",
        "QDRANT_API_KEY",
    ] {
        assert!(
            env[required].as_str().unwrap().contains(":?"),
            "{required} must be required, not defaulted"
        );
    }
    assert!(
        env["DEV_AUTH_SECRET"].is_badvalue(),
        "no dev secret in compose"
    );
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("ENV ENVIRONMENT=production"),
        "the image must not default to development"
    );
}

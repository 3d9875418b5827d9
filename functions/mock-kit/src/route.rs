//! Request paths as the functions should see them.
//!
//! A deployed Function URL hands the handler the path the client asked for, but
//! `cargo lambda watch` serves every function under `/lambda-url/<function-name>/`
//! and passes that prefix through. Routing on the normalised path lets one routing
//! table work in both places.

const LOCAL_PREFIX: &str = "/lambda-url/";

/// Strips an optional `/lambda-url/<name>` prefix and a trailing slash.
/// Always returns a path starting with `/`.
pub fn normalise_path(path: &str) -> &str {
    let path = match path.strip_prefix(LOCAL_PREFIX) {
        Some(rest) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => path,
    };
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/"
    } else if trimmed.starts_with('/') {
        trimmed
    } else {
        // Not reachable through a Function URL, whose paths always start with '/';
        // route it nowhere rather than guess.
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_cargo_lambda_prefix() {
        assert_eq!(
            normalise_path("/lambda-url/mock-api/api/v1/data"),
            "/api/v1/data"
        );
        assert_eq!(normalise_path("/lambda-url/mock-auth/token"), "/token");
        assert_eq!(normalise_path("/lambda-url/mock-auth"), "/");
        assert_eq!(normalise_path("/lambda-url/mock-auth/"), "/");
    }

    #[test]
    fn leaves_plain_paths_alone_except_a_trailing_slash() {
        assert_eq!(normalise_path("/token"), "/token");
        assert_eq!(normalise_path("/token/"), "/token");
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path(""), "/");
        assert_eq!(
            normalise_path("/api/v1/support/cases/ab12"),
            "/api/v1/support/cases/ab12"
        );
    }

    #[test]
    fn does_not_strip_lookalike_prefixes() {
        assert_eq!(
            normalise_path("/lambda-urls/x/token"),
            "/lambda-urls/x/token"
        );
    }
}

//! Lambda entry point: the common mock start-up (`mock_kit::run`) serving mock-auth.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mock_kit::run::<mock_auth::State>().await
}

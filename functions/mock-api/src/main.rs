//! Lambda entry point: the common mock start-up (`mock_kit::run`) serving mock-api.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    mock_kit::run::<mock_api::State>().await
}

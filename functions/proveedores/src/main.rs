#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::run(|estado, req| async move { proveedores::handle(&estado, req).await }).await
}

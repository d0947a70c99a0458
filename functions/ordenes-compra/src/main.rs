#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::run(|estado, req| async move { ordenes_compra::handle(&estado, req).await }).await
}

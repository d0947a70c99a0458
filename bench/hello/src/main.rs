//! The smallest `lambda_http` function (same runtime flavour as `functions/*`): the baseline that
//! `scripts/bench` compares binary size, init time and RSS against. Not deployed.

use std::convert::Infallible;

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        let mut res = Response::new(Body::from(r#"{"ok":true}"#));
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok::<_, Infallible>(res)
    }))
    .await
}

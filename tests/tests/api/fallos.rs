//! Faults between the functions and their servers (issue 9 §4), through the loopback proxy of
//! `tests::proxy`: Redis reset or silent, Postgres silent or cut mid-transaction.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use shared::rate_limit::{Decision, Limitador, clave_redis};
use tests::proxy::{Modo, Proxy};
use tests::url_redis;

/// `host:port` of a `redis://host:port[/db]` URL.
fn host_puerto_redis() -> String {
    let u = url_redis();
    let resto = u.split("://").nth(1).unwrap_or("127.0.0.1:6379");
    resto
        .split('/')
        .next()
        .unwrap()
        .rsplit('@')
        .next()
        .unwrap()
        .to_string()
}

async fn cuenta_redis(ip: &str, ahora: u64) -> i64 {
    let mut con = redis::Client::open(url_redis())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let v: Option<i64> = con.get(clave_redis(ip, ahora / 60_000)).await.unwrap();
    v.unwrap_or(0)
}

fn ahora_ms() -> u64 {
    chrono::Utc::now().timestamp_millis() as u64
}

/// One call of the limiter, timed.
async fn decidir(l: &Limitador, ip: &str) -> (Decision, Duration) {
    let t = Instant::now();
    let d = l.decidir(ip, ahora_ms()).await;
    (d, t.elapsed())
}

#[tokio::test]
async fn redis_reiniciado_vuelve_a_contar_en_redis() {
    let proxy = Proxy::nuevo(&host_puerto_redis()).await;
    let l = Limitador::new(
        1_000,
        60_000,
        Some(&format!("redis://127.0.0.1:{}", proxy.puerto)),
    )
    .unwrap();
    let ip = format!("fallo-{}", rand::random::<u64>());
    // Stay inside one window of 60 s for the whole test.
    while ahora_ms() % 60_000 > 45_000 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t0 = ahora_ms();
    assert_eq!(decidir(&l, &ip).await.0, Decision::Permitida);
    assert_eq!(
        cuenta_redis(&ip, t0).await,
        1,
        "first request counted in Redis"
    );

    proxy.modo(Modo::Cortar);
    for _ in 0..3 {
        let (d, t) = decidir(&l, &ip).await;
        assert_eq!(d, Decision::Permitida);
        assert!(t < Duration::from_millis(1_500), "within the budget: {t:?}");
    }
    assert_eq!(
        cuenta_redis(&ip, t0).await,
        1,
        "nothing reached Redis while cut"
    );

    proxy.modo(Modo::Pasar);
    let inicio = Instant::now();
    let mut intentos = 0;
    while cuenta_redis(&ip, t0).await == 1 {
        assert!(
            inicio.elapsed() < Duration::from_secs(12),
            "the limiter never went back to Redis ({intentos} requests)"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (d, t) = decidir(&l, &ip).await;
        assert_eq!(d, Decision::Permitida);
        assert!(t < Duration::from_millis(1_500), "{t:?}");
        intentos += 1;
    }
    assert!(intentos <= 20, "back in Redis after {intentos} requests");
    assert_eq!(cuenta_redis(&ip, t0).await, 2);
    // And it stays there: every further request is counted in Redis.
    for i in 0..3 {
        decidir(&l, &ip).await;
        assert_eq!(cuenta_redis(&ip, t0).await, 3 + i);
    }
    assert!(proxy.conexiones() >= 2, "a new connection was opened");
}

#[tokio::test]
async fn redis_mudo_cada_peticion_dentro_del_presupuesto() {
    let proxy = Proxy::nuevo(&host_puerto_redis()).await;
    let l = Limitador::new(
        1_000,
        60_000,
        Some(&format!("redis://127.0.0.1:{}", proxy.puerto)),
    )
    .unwrap();
    let ip = format!("mudo-{}", rand::random::<u64>());
    while ahora_ms() % 60_000 > 40_000 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t0 = ahora_ms();
    assert_eq!(decidir(&l, &ip).await.0, Decision::Permitida);

    proxy.modo(Modo::Silencio);
    let inicio = Instant::now();
    for _ in 0..10 {
        let (d, t) = decidir(&l, &ip).await;
        assert_eq!(d, Decision::Permitida);
        assert!(t < Duration::from_millis(1_300), "one request took {t:?}");
    }
    // Only the first waits for the 1 s budget; the rest go to memory during the backoff.
    assert!(
        inicio.elapsed() < Duration::from_millis(2_500),
        "ten requests took {:?}",
        inicio.elapsed()
    );
    assert_eq!(cuenta_redis(&ip, t0).await, 1);

    proxy.modo(Modo::Pasar);
    let inicio = Instant::now();
    while cuenta_redis(&ip, t0).await == 1 {
        assert!(
            inicio.elapsed() < Duration::from_secs(12),
            "never back in Redis"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        decidir(&l, &ip).await;
    }
}

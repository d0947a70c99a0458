//! Rate limiter (platform.md §7) against a real Redis, its in-memory mode and the fallback.

use redis::AsyncCommands;
use serde_json::json;
use shared::rate_limit::{Decision, Limitador, clave_redis};
use tests::{Opciones, Res, spawn_app_con, url_redis};

fn opciones(redis: Option<String>) -> Opciones {
    Opciones {
        rate_limit_max: 5,
        rate_limit_window_ms: 60_000,
        redis,
        ajustar: None,
        puerto_pg: None,
    }
}

async fn cinco_y_sexto(app: &tests::App) -> Res {
    for i in 0..5 {
        // No session: each attempt is counted before the 401 (G0 runs first).
        let r = app
            .post("/api/categorias")
            .json(json!({"nombre": "x"}))
            .send()
            .await;
        assert_eq!(r.status, 401, "intento {i}");
    }
    app.post("/api/categorias")
        .json(json!({"nombre": "x"}))
        .send()
        .await
}

#[tokio::test]
async fn redis_sexto_post_es_429_con_claves_de_upstash() {
    let app = spawn_app_con(opciones(Some(url_redis()))).await;
    assert!(app.estado.limitador.usa_redis());
    let antes = chrono::Utc::now().timestamp_millis() as u64;
    let r = cinco_y_sexto(&app).await;
    assert_eq!(r.status, 429);
    let n = r.segundos_de_espera();
    let w = antes / 60_000;
    let esperado_max = ((w + 1) * 60_000 - antes).div_ceil(1000);
    assert!(
        n >= 1 && n <= esperado_max.max(1),
        "n={n} esperado<={esperado_max}"
    );
    let mut con = redis::Client::open(url_redis())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ahora_w = chrono::Utc::now().timestamp_millis() as u64 / 60_000;
    let mut total = 0i64;
    for ventana in w..=ahora_w {
        let v: Option<i64> = con.get(clave_redis(&app.ip, ventana)).await.unwrap();
        total += v.unwrap_or(0);
        if v.is_some() {
            let ttl: i64 = con.pttl(clave_redis(&app.ip, ventana)).await.unwrap();
            assert!(ttl > 0 && ttl <= 121_000, "PEXPIRE 2W+1000, ttl={ttl}");
        }
    }
    assert_eq!(total, 5, "the rejected request is not counted");
    // Not limited: other methods, sub-paths, other addresses.
    assert_eq!(app.get("/api/categorias").send().await.status, 401);
    assert_eq!(
        app.post("/api/categorias/bulk-delete")
            .json(json!({}))
            .send()
            .await
            .status,
        401
    );
    assert_eq!(
        app.post("/api/categorias")
            .ip("10.255.255.254")
            .json(json!({}))
            .send()
            .await
            .status,
        401
    );
    // The 429 comes before every guard, also for a valid session.
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    assert_eq!(
        app.post("/api/categorias")
            .cookie(&c)
            .json(json!({"nombre": "x"}))
            .send()
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn redis_ventana_deslizante_alineada_a_epoch() {
    let l = Limitador::new(5, 60_000, Some(&url_redis())).unwrap();
    let ip = format!("arit-{}", rand::random::<u64>());
    let w = chrono::Utc::now().timestamp_millis() as u64 / 60_000 - 10;
    let fin = w * 60_000 + 59_000;
    for _ in 0..5 {
        assert_eq!(l.decidir(&ip, fin).await, Decision::Permitida);
    }
    // reset = (w+1)·60000 → 1 s left.
    assert_eq!(l.decidir(&ip, fin).await, Decision::Rechazada(1));
    // 6 s into the next window the previous one weighs floor(0.9·5) = 4: one more passes.
    let t = (w + 1) * 60_000 + 6_000;
    assert_eq!(l.decidir(&ip, t).await, Decision::Permitida);
    assert_eq!(l.decidir(&ip, t).await, Decision::Rechazada(54));
    // 45 s in: floor(0.25·5) = 1 plus 1 current → three more pass. (The weight is computed in
    // doubles exactly like Upstash: at 48 s, 1 − 0.8 = 0.1999… and the previous window weighs 0.)
    let t = (w + 1) * 60_000 + 45_000;
    for _ in 0..3 {
        assert_eq!(l.decidir(&ip, t).await, Decision::Permitida);
    }
    assert_eq!(l.decidir(&ip, t).await, Decision::Rechazada(15));
}

#[tokio::test]
async fn memoria_ventana_fija_desde_el_primero() {
    let app = spawn_app_con(opciones(None)).await;
    assert!(!app.estado.limitador.usa_redis());
    let r = cinco_y_sexto(&app).await;
    assert_eq!(r.status, 429);
    let n = r.segundos_de_espera();
    assert!(
        (59..=60).contains(&n),
        "window opened by the first request, n={n}"
    );
}

#[tokio::test]
async fn redis_caido_usa_memoria_sin_5xx() {
    let app = spawn_app_con(opciones(Some("redis://127.0.0.1:1".into()))).await;
    let r = cinco_y_sexto(&app).await;
    assert_eq!(r.status, 429, "{}", r.texto);
    assert!((59..=60).contains(&r.segundos_de_espera()));
}

#[tokio::test]
async fn redis_que_no_responde_usa_memoria_tras_un_segundo() {
    // A server that accepts and never answers: the 1 s timeout sends us to memory.
    let mudo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let puerto = mudo.local_addr().unwrap().port();
    let aceptar = tokio::spawn(async move {
        let mut abiertos = Vec::new();
        for _ in 0..20 {
            match tokio::time::timeout(std::time::Duration::from_secs(15), mudo.accept()).await {
                Ok(Ok((s, _))) => abiertos.push(s),
                _ => break,
            }
        }
    });
    let app = spawn_app_con(opciones(Some(format!("redis://127.0.0.1:{puerto}")))).await;
    let inicio = std::time::Instant::now();
    let r = app
        .post("/api/categorias")
        .json(json!({"nombre": "x"}))
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert!(
        inicio.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        inicio.elapsed()
    );
    aceptar.abort();
}

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

/// A limiter whose Redis is behind a proxy (in `Modo::Pasar`), a fresh client address and the
/// instant of its first request, already counted in Redis. Waits until at least `60 s − margen`
/// of the current window remain, so the whole test counts in one window.
async fn limitador_tras_proxy(prefijo: &str, margen: u64) -> (Proxy, Limitador, String, u64) {
    let proxy = Proxy::nuevo(&host_puerto_redis()).await;
    let l = Limitador::new(
        1_000,
        60_000,
        Some(&format!("redis://127.0.0.1:{}", proxy.puerto)),
    )
    .unwrap();
    let ip = format!("{prefijo}-{}", rand::random::<u64>());
    while ahora_ms() % 60_000 > margen {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t0 = ahora_ms();
    assert_eq!(decidir(&l, &ip).await.0, Decision::Permitida);
    (proxy, l, ip, t0)
}

#[tokio::test]
async fn redis_reiniciado_vuelve_a_contar_en_redis() {
    let (proxy, l, ip, t0) = limitador_tras_proxy("fallo", 45_000).await;
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
    let (proxy, l, ip, t0) = limitador_tras_proxy("mudo", 40_000).await;

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

/// An app whose pool goes through a proxy in front of Postgres, with an ADMIN and its cookie.
async fn app_con_proxy() -> (Proxy, tests::App, String, String) {
    let proxy = Proxy::nuevo(&tests::host_puerto_pg()).await;
    let app = tests::spawn_app_con(tests::Opciones {
        puerto_pg: Some(proxy.puerto),
        ..Default::default()
    })
    .await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    (proxy, app, e, c)
}

#[tokio::test]
async fn postgres_mudo_al_resolver_la_sesion_503_y_se_recupera() {
    let (proxy, app, _e, c) = app_con_proxy().await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );

    proxy.modo(Modo::Silencio);
    let t = Instant::now();
    let r = app.get("/api/categorias").cookie(&c).send().await;
    let tardo = t.elapsed();
    assert_eq!(r.err(), (503, "Servicio no disponible"), "{}", r.texto);
    assert!(tardo < Duration::from_secs(15), "answered after {tardo:?}");
    assert!(
        tardo >= Duration::from_secs(10),
        "the deadline is above the statement timeout"
    );

    // Recovery without a restart: the silent connection was dropped, a new one answers.
    proxy.modo(Modo::Pasar);
    let r = app.get("/api/categorias").cookie(&c).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
}

#[tokio::test]
async fn postgres_mudo_tras_la_sesion_500_de_la_ruta() {
    let (proxy, app, e, c) = app_con_proxy().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let prod = app.producto(&e, cat, "BEB-001", 10).await;
    let salida = serde_json::json!({"productoId": prod, "tipo": "salida", "cantidad": 1});
    assert_eq!(
        app.post("/api/movimientos")
            .cookie(&c)
            .json(salida.clone())
            .send()
            .await
            .status,
        201
    );
    // The session query passes; the transaction's first write gets no answer.
    proxy.modo(Modo::SilencioTras(1));
    let t = Instant::now();
    let r = app
        .post("/api/movimientos")
        .cookie(&c)
        .json(salida.clone())
        .send()
        .await;
    let tardo = t.elapsed();
    assert_eq!(r.status, 500, "{}", r.texto);
    assert_eq!(r.error(), Some("Error al crear movimiento"), "{}", r.texto);
    assert!(tardo < Duration::from_secs(15), "answered after {tardo:?}");

    proxy.modo(Modo::Pasar);
    let r = app
        .post("/api/movimientos")
        .cookie(&c)
        .json(salida)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(app.stock(prod).await, 8, "the silent request wrote nothing");
}

/// A connection reset after each possible number of round trips of a sale: whatever the
/// answer, the stock and the ledger agree afterwards and nothing is half-written.
#[tokio::test]
async fn postgres_cortado_a_mitad_de_transaccion_no_deja_nada_a_medias() {
    let (proxy, app, e, c) = app_con_proxy().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let prod = app.producto(&e, cat, "BEB-001", 100).await;
    let venta = serde_json::json!({"items": [{"productoId": prod, "cantidad": 1}]});
    let mut exitos = 0;
    for n in 1..=12 {
        // A warm connection first, so the cut lands inside the request, not in a connect.
        proxy.modo(Modo::Pasar);
        assert_eq!(
            app.get("/api/categorias").cookie(&c).send().await.status,
            200
        );
        proxy.modo(Modo::CortarTras(n));
        let r = app
            .post("/api/ventas")
            .cookie(&c)
            .json(venta.clone())
            .send()
            .await;
        assert!(
            matches!(r.status, 201 | 500 | 503),
            "cut after {n} writes: {} {}",
            r.status,
            r.texto
        );
        if r.status == 201 {
            exitos += 1;
        }
    }
    proxy.modo(Modo::Pasar);
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );
    let vendidas = app
        .contar(
            r#"SELECT COALESCE(SUM("cantidad"), 0)::bigint FROM "ItemVenta" WHERE "productoId" = $1"#,
            &[&prod],
        )
        .await;
    let salidas = app
        .contar(
            r#"SELECT COALESCE(SUM("cantidad"), 0)::bigint FROM "Movimiento" WHERE "productoId" = $1 AND "tipo" = 'salida'"#,
            &[&prod],
        )
        .await;
    let ventas = app
        .contar(
            r#"SELECT count(*) FROM "Venta" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await;
    let sin_items = app
        .contar(
            r#"SELECT count(*) FROM "Venta" v WHERE NOT EXISTS (SELECT 1 FROM "ItemVenta" i WHERE i."ventaId" = v."id")"#,
            &[],
        )
        .await;
    assert_eq!(sin_items, 0, "no sale without its lines");
    assert_eq!(vendidas, salidas, "one exit per sold unit");
    assert_eq!(ventas, vendidas, "one unit per sale");
    assert_eq!(
        app.stock(prod).await as i64,
        100 - salidas,
        "stock = initial − exits"
    );
    assert!(
        ventas >= exitos,
        "every 201 committed ({exitos} × 201, {ventas} sales)"
    );
    assert!(exitos >= 1, "with enough round trips the sale goes through");
}

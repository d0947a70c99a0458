//! The locked write path (`shared::escritura`, migration V6): a sale or a manual exit that waits
//! on a product lock sees, once it gets it, what the lock holder committed — including a quote's
//! reservation on the same product, which a single statement would read on its old snapshot and
//! oversell. Also: a refused write leaves nothing behind (not even the Idempotency-Key claim),
//! and the pipelined COMMIT leaves the pooled connection clean for the next request.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{App, Res, spawn_app, url_de};

struct Base {
    app: App,
    e: String,
    c: String,
    cat: i32,
}

async fn base() -> Base {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    let cat = app.categoria(&e, "General", "GEN").await;
    Base { app, e, c, cat }
}

/// Waits until some backend of this test's database waits for a lock.
async fn hasta_que_espere(app: &App) {
    for _ in 0..500 {
        let n: i64 = app
            .pg
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nadie llegó a esperar el bloqueo");
}

/// Holds `producto`'s row lock on a connection of its own; `reservar` > 0 inserts, inside that
/// transaction, a PENDIENTE quote of `e` reserving that many units. `liberar` commits.
struct Bloqueo {
    pg: tokio_postgres::Client,
}

impl Bloqueo {
    async fn tomar(app: &App, producto: i32) -> Self {
        let pg = tests::conectar(&url_de(&app.db)).await;
        pg.batch_execute("BEGIN").await.unwrap();
        pg.execute(
            r#"SELECT 1 FROM "Producto" WHERE "id" = $1 FOR UPDATE"#,
            &[&producto],
        )
        .await
        .unwrap();
        Self { pg }
    }

    async fn reservar(&self, e: &str, producto: i32, cantidad: i32) {
        let id: i32 = self
            .pg
            .query_one(
                r#"INSERT INTO "Cotizacion" ("total", "estado", "validaHasta", "empresaId")
                   VALUES (0, 'PENDIENTE', (now() AT TIME ZONE 'UTC') + interval '1 day', $1)
                   RETURNING "id""#,
                &[&e],
            )
            .await
            .unwrap()
            .get(0);
        self.pg
            .execute(
                r#"INSERT INTO "ItemCotizacion" ("cotizacionId", "productoId", "cantidad", "precioUnitario", "subtotal")
                   VALUES ($1, $2, $3, 1, $3::int4 * 1.0)"#,
                &[&id, &producto, &cantidad],
            )
            .await
            .unwrap();
    }

    async fn liberar(self) {
        self.pg.batch_execute("COMMIT").await.unwrap();
    }
}

async fn vender(app: &App, c: &str, p: i32, n: i32, clave: Option<&str>) -> Res {
    let mut r = app
        .post("/api/ventas")
        .cookie(c)
        .json(json!({"items": [{"productoId": p, "cantidad": n}]}));
    if let Some(k) = clave {
        r = r.cabecera("Idempotency-Key", k);
    }
    r.send().await
}

async fn salida(app: &App, c: &str, p: i32, n: i32) -> Res {
    app.post("/api/movimientos")
        .cookie(c)
        .json(json!({"tipo": "salida", "productoId": p, "cantidad": n}))
        .send()
        .await
}

/// A sale queued on the lock while the holder commits a reservation: the sale counts it
/// (400 with the new availability, nothing written); without the reservation the same queued
/// sale succeeds. Rounds, so it is not a lucky interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn venta_en_espera_ve_la_reserva_confirmada_durante_la_espera() {
    let Base { app, e, c, cat } = base().await;
    for ronda in 0..5 {
        let codigo = format!("GEN-{ronda:03}");
        let p = app.producto(&e, cat, &codigo, 10).await;
        let bloqueo = Bloqueo::tomar(&app, p).await;
        let clave = format!("k-{ronda}");
        let venta = vender(&app, &c, p, 10, Some(&clave));
        let (r, ()) = tokio::join!(venta, async {
            hasta_que_espere(&app).await;
            bloqueo.reservar(&e, p, 6).await;
            bloqueo.liberar().await;
        });
        assert_eq!(
            r.err(),
            (
                400,
                format!("Stock insuficiente para \"{codigo}\". Solicitas 10, disponible 4.")
                    .as_str()
            ),
            "ronda {ronda}"
        );
        assert_eq!(app.stock(p).await, 10);
        assert_eq!(app.contar(r#"SELECT count(*) FROM "Venta""#, &[]).await, 0);
        assert_eq!(
            app.contar("SELECT count(*) FROM inventario.idempotencia", &[])
                .await,
            0,
            "a refused sale keeps no Idempotency-Key claim"
        );
        // The same key now works (nothing was stored), within what is available.
        let r = vender(&app, &c, p, 4, Some(&clave)).await;
        assert_eq!(r.status, 201, "{}", r.texto);
        assert_eq!(app.stock(p).await, 6);
        app.pg
            .batch_execute(r#"DELETE FROM "Movimiento"; DELETE FROM "ItemVenta"; DELETE FROM "Venta"; DELETE FROM inventario.idempotencia"#)
            .await
            .unwrap();
    }
    // Control: queued behind a holder that reserves nothing, the sale goes through.
    let p = app.producto(&e, cat, "GEN-900", 10).await;
    let bloqueo = Bloqueo::tomar(&app, p).await;
    let (r, ()) = tokio::join!(vender(&app, &c, p, 10, None), async {
        hasta_que_espere(&app).await;
        bloqueo.liberar().await;
    });
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(app.stock(p).await, 0);
}

/// The same for a manual exit (`inventario.mover`): its audit row is written only when the
/// exit is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn salida_en_espera_ve_la_reserva_confirmada_durante_la_espera() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let bloqueo = Bloqueo::tomar(&app, p).await;
    let (r, ()) = tokio::join!(salida(&app, &c, p, 5), async {
        hasta_que_espere(&app).await;
        bloqueo.reservar(&e, p, 7).await;
        bloqueo.liberar().await;
    });
    assert_eq!(
        r.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 5, disponible 3."
        )
    );
    assert_eq!(app.stock(p).await, 10);
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "entidad" = 'Movimiento'"#,
            &[]
        )
        .await,
        0
    );
    let r = salida(&app, &c, p, 3).await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let cuerpo: Value = r.body.clone();
    let datos: Value = app
        .pg
        .query_one(
            r#"SELECT "datos" FROM "Auditoria" WHERE "entidad" = 'Movimiento'"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(datos, json!({ "despues": cuerpo }));
    assert_eq!(cuerpo["producto"]["cantidad"], 7);
}

/// After refusals (raised inside the pipeline: the COMMIT answers ROLLBACK) the pool's
/// connections are idle, outside any transaction, and the next writes commit normally.
#[tokio::test]
async fn tras_un_rechazo_la_conexion_queda_limpia() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 2).await;
    for _ in 0..6 {
        let r = vender(&app, &c, p, 3, None).await;
        assert_eq!(r.status, 400, "{}", r.texto);
        let r = vender(&app, &c, 999_999, 1, None).await;
        assert_eq!(r.status, 404, "{}", r.texto);
        let r = salida(&app, &c, p, 3).await;
        assert_eq!(r.status, 400, "{}", r.texto);
    }
    let r = vender(&app, &c, p, 1, None).await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let r = salida(&app, &c, p, 1).await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(app.stock(p).await, 0);
    let en_transaccion: i64 = app
        .pg
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
               AND pid <> pg_backend_pid() AND state <> 'idle'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        en_transaccion, 0,
        "a pooled connection was left in a transaction"
    );
}

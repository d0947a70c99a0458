//! Races of purchasing.md §9 #1, #2, #5 with real concurrent requests, in rounds: receipts of one
//! order, receipt vs cancel, cancels, supplier delete vs order create, and receipts / creates on
//! products A,B and B,A racing manual exits (no deadlock, stock adds up).

use futures::future::join_all;
use serde_json::json;

use super::*;

const RONDAS: usize = 3;

async fn estado_orden(app: &App, id: i64) -> String {
    app.pg
        .query_one(
            r#"SELECT "estado"::text FROM "OrdenCompra" WHERE "id" = $1"#,
            &[&(id as i32)],
        )
        .await
        .unwrap()
        .get(0)
}

fn conteo(estados: &[u16], s: u16) -> usize {
    estados.iter().filter(|x| **x == s).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_veinte_recepciones_de_una_orden_una_gana() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Sur").await;
    for ronda in 0..RONDAS {
        let p = producto(&f.app, &f.e, &format!("R-{ronda}"), 3, 1).await;
        let o = orden(
            &f.app,
            &f.c,
            prov,
            json!([
                {"productoId": p, "cantidad": 5, "costoUnitario": 1},
                {"productoId": p, "cantidad": 7, "costoUnitario": 2},
            ]),
        )
        .await;
        let id = o["id"].as_i64().unwrap();
        let path = format!("/api/ordenes-compra/{id}/recibir");
        let rs = join_all((0..20).map(|_| f.app.post(&path).cookie(&f.c).send())).await;
        let estados: Vec<u16> = rs.iter().map(|r| r.status).collect();
        assert_eq!(
            (conteo(&estados, 200), conteo(&estados, 409)),
            (1, 19),
            "ronda {ronda}: {estados:?}"
        );
        for r in rs.iter().filter(|r| r.status == 409) {
            assert_eq!(r.error(), Some("La orden ya fue recibida o cancelada"));
        }
        assert_eq!(f.app.stock(p).await, 3 + 12, "stock raised once");
        let movs = f
            .app
            .contar(
                r#"SELECT count(*) FROM "Movimiento" WHERE "ordenCompraId" = $1"#,
                &[&(id as i32)],
            )
            .await;
        assert_eq!(movs, 2, "one movement per line");
        let aud = f.app.contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "entidad" = 'OrdenCompra' AND "entidadId" = $1 AND "accion" = 'ACTUALIZAR'"#,
            &[&id.to_string()],
        ).await;
        assert_eq!(aud, 1, "one audit row");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_recepcion_contra_cancelacion_gana_una() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Sur").await;
    for ronda in 0..RONDAS * 2 {
        let p = producto(&f.app, &f.e, &format!("RC-{ronda}"), 0, 1).await;
        let o = orden(
            &f.app,
            &f.c,
            prov,
            json!([{"productoId": p, "cantidad": 4, "costoUnitario": 1}]),
        )
        .await;
        let id = o["id"].as_i64().unwrap();
        let recibir = format!("/api/ordenes-compra/{id}/recibir");
        let cancelar = format!("/api/ordenes-compra/{id}/cancelar");
        let (r, c) = tokio::join!(
            f.app.post(&recibir).cookie(&f.c).send(),
            f.app.post(&cancelar).cookie(&f.c).send()
        );
        let final_ = estado_orden(&f.app, id).await;
        match (r.status, c.status) {
            (200, 409) => {
                assert_eq!(
                    c.error(),
                    Some("Solo se pueden cancelar órdenes en borrador")
                );
                assert_eq!((final_.as_str(), f.app.stock(p).await), ("RECIBIDA", 4));
            }
            (409, 200) => {
                assert_eq!(r.error(), Some("La orden ya fue recibida o cancelada"));
                assert_eq!((final_.as_str(), f.app.stock(p).await), ("CANCELADA", 0));
            }
            otro => panic!("ronda {ronda}: {otro:?} {} {}", r.texto, c.texto),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_veinte_cancelaciones_una_gana() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Sur").await;
    let p = producto(&f.app, &f.e, "C-1", 0, 1).await;
    for ronda in 0..RONDAS {
        let o = orden(
            &f.app,
            &f.c,
            prov,
            json!([{"productoId": p, "cantidad": 4, "costoUnitario": 1}]),
        )
        .await;
        let id = o["id"].as_i64().unwrap();
        let path = format!("/api/ordenes-compra/{id}/cancelar");
        let rs = join_all((0..20).map(|_| f.app.post(&path).cookie(&f.c).send())).await;
        let estados: Vec<u16> = rs.iter().map(|r| r.status).collect();
        assert_eq!(
            (conteo(&estados, 200), conteo(&estados, 409)),
            (1, 19),
            "ronda {ronda}: {estados:?}"
        );
        assert!(
            rs.iter()
                .filter(|r| r.status == 409)
                .all(|r| r.error() == Some("Solo se pueden cancelar órdenes en borrador"))
        );
        let aud = f.app.contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "entidad" = 'OrdenCompra' AND "entidadId" = $1 AND "accion" = 'ACTUALIZAR'"#,
            &[&id.to_string()],
        ).await;
        assert_eq!(aud, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_eliminar_proveedor_contra_crear_orden_nunca_500() {
    let f = fx().await;
    let p = producto(&f.app, &f.e, "D-1", 0, 1).await;
    for ronda in 0..RONDAS * 3 {
        let prov = proveedor(&f.app, &f.e, &format!("Sur {ronda}")).await;
        let borrar = format!("/api/proveedores/{prov}");
        let cuerpo = json!({"proveedorId": prov, "items": [{"productoId": p, "cantidad": 1, "costoUnitario": 1}]});
        let (d, c) = tokio::join!(
            f.app.delete(&borrar).cookie(&f.c).send(),
            f.app
                .post("/api/ordenes-compra")
                .cookie(&f.c)
                .json(cuerpo)
                .send()
        );
        let ordenes = f
            .app
            .contar(
                r#"SELECT count(*) FROM "OrdenCompra" WHERE "proveedorId" = $1"#,
                &[&prov],
            )
            .await;
        let existe = f
            .app
            .contar(
                r#"SELECT count(*) FROM "Proveedor" WHERE "id" = $1"#,
                &[&prov],
            )
            .await;
        match (d.status, c.status) {
            (200, 404) => {
                assert_eq!(c.error(), Some("Proveedor no encontrado"));
                assert_eq!((existe, ordenes), (0, 0));
            }
            (409, 201) => {
                assert_eq!(
                    d.error(),
                    Some("No se puede eliminar un proveedor con órdenes de compra asociadas")
                );
                assert_eq!((existe, ordenes), (1, 1));
            }
            otro => panic!("ronda {ronda}: {otro:?} {} {}", d.texto, c.texto),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_recepciones_y_creaciones_contra_salidas_sin_deadlock() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Sur").await;
    for ronda in 0..RONDAS {
        let a = producto(&f.app, &f.e, &format!("A-{ronda}"), 100, 1).await;
        let b = producto(&f.app, &f.e, &format!("B-{ronda}"), 100, 1).await;
        let mut ordenes = Vec::new();
        for i in 0..6 {
            let items = if i % 2 == 0 {
                json!([{"productoId": a, "cantidad": 3, "costoUnitario": 1}, {"productoId": b, "cantidad": 2, "costoUnitario": 1}])
            } else {
                json!([{"productoId": b, "cantidad": 2, "costoUnitario": 1}, {"productoId": a, "cantidad": 3, "costoUnitario": 1}])
            };
            ordenes.push(
                orden(&f.app, &f.c, prov, items).await["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        let recepciones = ordenes.iter().map(|id| {
            let path = format!("/api/ordenes-compra/{id}/recibir");
            let app = &f.app;
            let c = f.c.clone();
            async move { app.post(&path).cookie(&c).send().await }
        });
        let creaciones = (0..6).map(|i| {
            let items = if i % 2 == 0 {
                json!([{"productoId": a, "cantidad": 1, "costoUnitario": 1}, {"productoId": b, "cantidad": 1, "costoUnitario": 1}])
            } else {
                json!([{"productoId": b, "cantidad": 1, "costoUnitario": 1}, {"productoId": a, "cantidad": 1, "costoUnitario": 1}])
            };
            let app = &f.app;
            let c = f.c.clone();
            async move { app.post("/api/ordenes-compra").cookie(&c).json(json!({"proveedorId": prov, "items": items})).send().await }
        });
        let salidas = (0..12).map(|i| {
            let producto = if i % 2 == 0 { b } else { a };
            let app = &f.app;
            let c = f.c.clone();
            async move {
                app.post("/api/movimientos").cookie(&c)
                    .json(json!({"tipo": "salida", "productoId": producto, "cantidad": 1, "notas": "merma"}))
                    .send().await
            }
        });
        let (rr, rc, rs) = tokio::join!(
            join_all(recepciones),
            join_all(creaciones),
            join_all(salidas)
        );
        assert!(
            rr.iter().all(|r| r.status == 200),
            "ronda {ronda}: {:?}",
            rr.iter().map(|r| &r.texto).collect::<Vec<_>>()
        );
        assert!(
            rc.iter().all(|r| r.status == 201),
            "ronda {ronda}: {:?}",
            rc.iter().map(|r| &r.texto).collect::<Vec<_>>()
        );
        assert!(
            rs.iter().all(|r| r.status == 201 || r.status == 200),
            "ronda {ronda}: {:?}",
            rs.iter().map(|r| (r.status, &r.texto)).collect::<Vec<_>>()
        );
        assert_eq!(f.app.stock(a).await, 100 + 6 * 3 - 6, "ronda {ronda}");
        assert_eq!(f.app.stock(b).await, 100 + 6 * 2 - 6, "ronda {ronda}");
    }
}

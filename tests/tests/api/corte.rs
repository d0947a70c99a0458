//! issue 15: `migrate` on the reference's database (adopt), `--cut-over`, and the refusals,
//! against fresh databases built from Appendix A on the local server.

use tests::{conectar, url_admin, url_de};

const APENDICE_A: &str = include_str!("../../../migrations/sql/V1__baseline.sql");

/// A fresh empty database; its client.
async fn base_nueva() -> tokio_postgres::Client {
    let nombre = format!("corte_{:016x}", rand::random::<u64>());
    conectar(&url_admin())
        .await
        .batch_execute(&format!("CREATE DATABASE {nombre}"))
        .await
        .unwrap();
    conectar(&url_de(&nombre)).await
}

/// What `db push` made, with reference-like rows: two tenants, the legacy
/// `"Cotizacion"."cliente"` column, a customer with a `documento`, negative stock.
async fn referencia() -> tokio_postgres::Client {
    let c = base_nueva().await;
    c.batch_execute(APENDICE_A).await.unwrap();
    c.batch_execute(
        r#"ALTER TABLE "Cotizacion" ADD COLUMN "cliente" TEXT;
           INSERT INTO "Empresa" ("id", "nombre") VALUES ('e1', 'Uno'), ('e2', 'Dos');
           INSERT INTO "Categoria" ("nombre", "prefijo", "empresaId") VALUES ('General', 'GEN', 'e1');
           INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "categoriaId", "empresaId")
             SELECT 'Negativo', 'N1', 10, -5, "id", 'e1' FROM "Categoria";
           INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "categoriaId", "empresaId")
             SELECT 'Bien', 'B1', 10, 3, "id", 'e1' FROM "Categoria";
           INSERT INTO "Cliente" ("nombre", "documento", "empresaId") VALUES ('Ana', '123', 'e1');"#,
    )
    .await
    .unwrap();
    c
}

/// The catalog of `public` a `db push` compares: columns, types, defaults, constraints other
/// than CHECKs (R2), indexes, enums (labels in order).
async fn catalogo_public(c: &tokio_postgres::Client) -> Vec<String> {
    let consultas = [
        r#"SELECT format('%s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
           WHERE n.nspname = 'public' AND c.relkind = 'r'"#,
        r#"SELECT format('%s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
           WHERE n.nspname = 'public' AND c.contype <> 'c'"#,
        r#"SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"#,
        r#"SELECT format('%s %s', t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder))
           FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
           JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' GROUP BY t.typname"#,
        r#"SELECT format('seq %s', c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S'"#,
    ];
    let mut v = Vec::new();
    for q in consultas {
        for f in c.query(q, &[]).await.unwrap() {
            v.push(f.get::<_, String>(0));
        }
    }
    v.sort();
    v
}

async fn checks(c: &tokio_postgres::Client) -> Vec<(String, bool)> {
    c.query(
        "SELECT conname::text, convalidated FROM pg_constraint WHERE contype = 'c'
         AND connamespace = 'public'::regnamespace ORDER BY 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|f| (f.get(0), f.get(1)))
    .collect()
}

async fn existe(c: &tokio_postgres::Client, sql: &str) -> bool {
    c.query_one(&format!("SELECT EXISTS ({sql})"), &[])
        .await
        .unwrap()
        .get(0)
}

async fn historial(c: &tokio_postgres::Client) -> i64 {
    c.query_one(
        "SELECT count(*) FROM inventario.refinery_schema_history",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

async fn tiene_inventario(c: &tokio_postgres::Client) -> bool {
    existe(c, "SELECT 1 FROM pg_namespace WHERE nspname = 'inventario'").await
}

#[tokio::test]
async fn adoptar_no_cambia_public_y_el_corte_espera_a_los_datos() {
    let mut c = referencia().await;
    let antes = catalogo_public(&c).await;

    let informe = migrations::ejecutar(&mut c, false, false).await.unwrap();
    assert!(!informe.creada && !informe.cortada, "{informe}");
    assert_eq!(catalogo_public(&c).await, antes, "adopt cambió public");
    // CHECKs only where no row violates them, all validated; the negative stock one skipped.
    let ch = checks(&c).await;
    assert!(ch.iter().all(|(_, v)| *v), "{ch:?}");
    assert!(!ch.iter().any(|(n, _)| n == "Producto_cantidad_no_negativa"));
    assert!(ch.iter().any(|(n, _)| n == "Producto_precio_no_negativo"));
    let omitido = &informe.checks_omitidos[0];
    assert_eq!(
        (omitido.0.as_str(), omitido.1),
        ("Producto_cantidad_no_negativa", 1)
    );
    for objeto in [
        "inventario.webhook_evento",
        "inventario.idempotencia",
        "inventario.refinery_schema_history",
    ] {
        assert!(
            existe(
                &c,
                &format!("SELECT 1 FROM pg_class WHERE oid = to_regclass('{objeto}')")
            )
            .await,
            "{objeto}"
        );
    }
    assert!(existe(&c, "SELECT 1 FROM pg_proc WHERE proname = 'vender' AND pronamespace = 'inventario'::regnamespace").await);
    // Writes on the negative-stock product work (no NOT VALID CHECK).
    c.batch_execute(r#"UPDATE "Producto" SET "nombre" = 'Renombrado', "cantidad" = "cantidad" + 2 WHERE "codigo" = 'N1'"#)
        .await
        .unwrap();

    // Second run: nothing to do.
    let n = historial(&c).await;
    let segunda = migrations::ejecutar(&mut c, false, false).await.unwrap();
    assert!(
        segunda.aplicadas.is_empty() && segunda.checks_agregados.is_empty(),
        "{segunda}"
    );
    assert_eq!(historial(&c).await, n);
    assert_eq!(catalogo_public(&c).await, antes);

    // Cut-over refused while stock is negative: nothing changed.
    let ch_antes = checks(&c).await;
    let e = migrations::ejecutar(&mut c, false, true).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("Producto_cantidad_no_negativa: 1 filas"),
        "{e:#}"
    );
    assert_eq!(catalogo_public(&c).await, antes);
    assert_eq!(checks(&c).await, ch_antes);
    assert!(!existe(&c, "SELECT 1 FROM inventario.corte").await);

    // Rows fixed: cut-over applies R2, R4, R5, R6; recorded; idempotent.
    c.batch_execute(r#"UPDATE "Producto" SET "cantidad" = 0 WHERE "cantidad" < 0"#)
        .await
        .unwrap();
    let hecho = migrations::ejecutar(&mut c, false, true).await.unwrap();
    assert!(hecho.cortada, "{hecho}");
    let ch = checks(&c).await;
    assert_eq!(ch.len(), migrations::corte::CHECKS.len(), "{ch:?}");
    assert!(ch.iter().all(|(_, v)| *v));
    assert!(
        existe(
            &c,
            r#"SELECT 1 FROM pg_indexes WHERE indexname = 'Cliente_empresaId_documento_key'"#
        )
        .await
    );
    assert!(
        !existe(
            &c,
            r#"SELECT 1 FROM pg_indexes WHERE indexname = 'Cliente_documento_key'"#
        )
        .await
    );
    for (indice, _, _) in migrations::corte::INDICES {
        assert!(
            existe(
                &c,
                &format!("SELECT 1 FROM pg_indexes WHERE indexname = '{indice}'")
            )
            .await,
            "{indice}"
        );
    }
    assert!(existe(&c, "SELECT 1 FROM pg_constraint WHERE conname = 'HistorialMovimientos_empresaId_fkey' AND convalidated").await);
    assert!(existe(&c, "SELECT 1 FROM inventario.corte").await);
    // Both tenants may now hold the same documento.
    c.batch_execute(r#"INSERT INTO "Cliente" ("nombre", "documento", "empresaId") VALUES ('Otra Ana', '123', 'e2')"#)
        .await
        .unwrap();
    let despues = catalogo_public(&c).await;
    let otra = migrations::ejecutar(&mut c, false, false).await.unwrap();
    assert!(
        otra.cortada && otra.aplicadas.is_empty() && otra.checks_agregados.is_empty(),
        "{otra}"
    );
    assert_eq!(catalogo_public(&c).await, despues);
}

/// Refused before any change: no `inventario` schema, no history.
async fn rechazada(mut c: tokio_postgres::Client, esperado: &str) {
    let antes = catalogo_public(&c).await;
    let e = migrations::ejecutar(&mut c, false, false)
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains(esperado), "{e:#}");
    assert!(!tiene_inventario(&c).await);
    assert!(
        !existe(
            &c,
            "SELECT 1 FROM pg_namespace WHERE nspname = 'inventario_esperado'"
        )
        .await
    );
    assert_eq!(catalogo_public(&c).await, antes);
}

#[tokio::test]
async fn estado_desconocido_rechazado_sin_cambios() {
    let c = referencia().await;
    c.batch_execute(r#"DROP TABLE "Notificacion""#)
        .await
        .unwrap();
    rechazada(c, r#"falta la tabla "Notificacion""#).await;

    let c = referencia().await;
    c.batch_execute(r#"ALTER TABLE "Producto" ALTER COLUMN "precio" TYPE NUMERIC(14,2)"#)
        .await
        .unwrap();
    rechazada(
        c,
        r#""Producto"."precio" es numeric(14,2), se esperaba double precision"#,
    )
    .await;
}

#[tokio::test]
async fn historial_viejo_de_la_referencia_rechazado() {
    // schema.md §1.2: the committed migrations never create these nine tables.
    let c = referencia().await;
    c.batch_execute(
        r#"DROP TABLE "Notificacion", "Invitacion", "ConfiguracionEmpresa", "HistorialPrecio",
             "HistorialMovimientos", "OrdenCompraItem", "OrdenCompra", "Proveedor" CASCADE;
           ALTER TABLE "Venta" DROP COLUMN "clienteId";
           ALTER TABLE "Cotizacion" DROP COLUMN "clienteId";
           DROP TABLE "Cliente" CASCADE;"#,
    )
    .await
    .unwrap();
    rechazada(c, "falta la tabla").await;
}

#[tokio::test]
async fn base_vacia_queda_en_estado_de_corte() {
    let mut c = base_nueva().await;
    let i = migrations::ejecutar(&mut c, true, false).await.unwrap();
    assert!(i.creada && i.cortada, "{i}");
    assert_eq!(checks(&c).await.len(), migrations::corte::CHECKS.len());
    assert!(
        existe(
            &c,
            r#"SELECT 1 FROM pg_indexes WHERE indexname = 'Cliente_empresaId_documento_key'"#
        )
        .await
    );
    assert!(existe(&c, "SELECT 1 FROM inventario.corte").await);
}

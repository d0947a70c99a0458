//! `seed`: the local demo data of `scripts/dev` (idempotent; never for production).
//! A demo empresa, an ADMIN with a Neon user and a live session, a few categories, products with
//! their initial-stock movements, a customer, a pending quote and a sale; a supplier with a draft
//! purchase order and a received one (with its `entrada` movements).
//! Prints the session token on stdout (one line) for the ready `curl` command.

const EMPRESA: &str = "cdemo0000empresa000000001";
const USUARIO: &str = "cdemo0000usuario000000001";
const NEON: &str = "00000000-0000-4000-8000-000000000001";
const EMAIL: &str = "admin@demo.local";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("falta DATABASE_URL"))?;
    migrations::leer_url(&url).map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let client = migrations::conectar(&url).await?;
    let neon = NEON;
    client
        .batch_execute(&format!(
            r#"
INSERT INTO "Empresa" ("id", "nombre") VALUES ('{EMPRESA}', 'Empresa Demo') ON CONFLICT DO NOTHING;
INSERT INTO neon_auth."user" ("id", "name", "email", "emailVerified")
  VALUES ('{neon}', 'Admin Demo', '{EMAIL}', true) ON CONFLICT DO NOTHING;
INSERT INTO "Usuario" ("id", "neonAuthId", "email", "nombre", "estado", "rol", "empresaId")
  VALUES ('{USUARIO}', '{neon}', '{EMAIL}', 'Admin Demo', 'ACTIVO', 'ADMIN', '{EMPRESA}') ON CONFLICT DO NOTHING;
INSERT INTO "Categoria" ("nombre", "prefijo", "empresaId") VALUES
  ('Bebidas', 'BEB', '{EMPRESA}'), ('Aseo', 'ASE', '{EMPRESA}'), ('Snacks', 'SNK', '{EMPRESA}')
  ON CONFLICT DO NOTHING;
"#
        ))
        .await?;
    sembrar_catalogo_y_ventas(&client).await?;
    sembrar_compras(&client).await?;
    let existente = client
        .query_opt(
            r#"SELECT "token" FROM neon_auth.session WHERE "userId" = $1::text::uuid
               AND "expiresAt" > now() + interval '1 day' ORDER BY "expiresAt" DESC LIMIT 1"#,
            &[&neon],
        )
        .await?;
    let token: String = match existente {
        Some(f) => f.get(0),
        None => {
            let token: String = (0..32)
                .map(|_| {
                    let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                    a[rand::random::<u8>() as usize % a.len()] as char
                })
                .collect();
            client
                .execute(
                    r#"INSERT INTO neon_auth.session ("token", "userId", "expiresAt")
                       VALUES ($1, $2::text::uuid, now() + interval '7 days')"#,
                    &[&token, &neon],
                )
                .await?;
            token
        }
    };
    println!("{token}");
    Ok(())
}

/// Products (with `Stock inicial` movements), a customer, a pending quote and a sale; each part is
/// written only when missing, so running the seed again changes nothing.
async fn sembrar_catalogo_y_ventas(c: &tokio_postgres::Client) -> anyhow::Result<()> {
    let productos: [(&str, &str, &str, f64, i32, i32); 4] = [
        ("BEB-001", "Agua mineral 600ml", "BEB", 2500.0, 120, 20),
        ("BEB-002", "Gaseosa 400ml", "BEB", 3200.0, 8, 5),
        ("ASE-001", "Jabón en barra", "ASE", 1800.0, 60, 10),
        ("SNK-001", "Papas fritas 45g", "SNK", 2100.0, 35, 8),
    ];
    for (codigo, nombre, prefijo, precio, cantidad, minimo) in productos {
        let nuevo = c
            .query(
                r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "empresaId")
                   SELECT $1, $2, $3, $4, $5, "id", "empresaId" FROM "Categoria"
                   WHERE "empresaId" = $6 AND "prefijo" = $7
                   ON CONFLICT DO NOTHING RETURNING "id""#,
                &[&nombre, &codigo, &precio, &cantidad, &minimo, &EMPRESA, &prefijo],
            )
            .await?;
        if let Some(f) = nuevo.first() {
            let id: i32 = f.get(0);
            c.execute(
                r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "empresaId")
                   VALUES ($1, 'entrada', $2, 'Stock inicial', $3)"#,
                &[&id, &cantidad, &EMPRESA],
            )
            .await?;
        }
    }
    c.execute(
        r#"INSERT INTO "Cliente" ("nombre", "documento", "email", "telefono", "empresaId")
           SELECT 'Ferretería Central', '900123456-7', 'compras@ferreteria.example', '3001234567', $1
           WHERE NOT EXISTS (SELECT 1 FROM "Cliente" WHERE "empresaId" = $1)"#,
        &[&EMPRESA],
    )
    .await?;
    // A pending quote for the customer (reserves 5 sodas for 7 days).
    c.batch_execute(&format!(
        r#"
DO $demo$
DECLARE cli INT; prod RECORD; cot INT; ven INT;
BEGIN
  SELECT "id" INTO cli FROM "Cliente" WHERE "empresaId" = '{EMPRESA}' ORDER BY "id" LIMIT 1;
  IF NOT EXISTS (SELECT 1 FROM "Cotizacion" WHERE "empresaId" = '{EMPRESA}') THEN
    SELECT "id", "precio" INTO prod FROM "Producto" WHERE "empresaId" = '{EMPRESA}' AND "codigo" = 'BEB-002';
    INSERT INTO "Cotizacion" ("vendedorId", "clienteId", "total", "notas", "validaHasta", "empresaId")
      VALUES ('{USUARIO}', cli, prod."precio" * 5, 'Pedido semanal', (now() AT TIME ZONE 'UTC') + interval '7 days', '{EMPRESA}')
      RETURNING "id" INTO cot;
    INSERT INTO "ItemCotizacion" ("cotizacionId", "productoId", "cantidad", "precioUnitario", "subtotal")
      VALUES (cot, prod."id", 5, prod."precio", prod."precio" * 5);
  END IF;
  -- A sale of 3 bottles of water, with its exit movement.
  IF NOT EXISTS (SELECT 1 FROM "Venta" WHERE "empresaId" = '{EMPRESA}') THEN
    SELECT "id", "precio" INTO prod FROM "Producto" WHERE "empresaId" = '{EMPRESA}' AND "codigo" = 'BEB-001';
    INSERT INTO "Venta" ("vendedorId", "total", "notas", "empresaId")
      VALUES ('{USUARIO}', prod."precio" * 3, 'Mostrador', '{EMPRESA}') RETURNING "id" INTO ven;
    INSERT INTO "ItemVenta" ("ventaId", "productoId", "cantidad", "precioUnitario", "subtotal")
      VALUES (ven, prod."id", 3, prod."precio", prod."precio" * 3);
    UPDATE "Producto" SET "cantidad" = "cantidad" - 3 WHERE "id" = prod."id";
    INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "ventaId", "empresaId")
      VALUES (prod."id", 'salida', 3, 'Venta #' || ven || ' — Mostrador', ven, '{EMPRESA}');
  END IF;
END
$demo$;
"#
    ))
    .await?;
    Ok(())
}

/// Purchasing (issue 11): a supplier, a draft order and a received order whose entradas raised
/// the stock, as `POST …/recibir` leaves them; written only when the empresa has no supplier.
async fn sembrar_compras(c: &tokio_postgres::Client) -> anyhow::Result<()> {
    c.batch_execute(&format!(
        r#"
DO $compras$
DECLARE prov INT; borrador INT; recibida INT; gas RECORD; snk RECORD;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "Proveedor" WHERE "empresaId" = '{EMPRESA}') THEN
    INSERT INTO "Proveedor" ("nombre", "nit", "contacto", "telefono", "email", "direccion", "empresaId")
      VALUES ('Distribuidora Andina', '900555111-2', 'Marta Gómez', '3105550000',
              'pedidos@andina.example', 'Cra 10 # 20-30, Bogotá', '{EMPRESA}')
      RETURNING "id" INTO prov;
    SELECT "id" INTO gas FROM "Producto" WHERE "empresaId" = '{EMPRESA}' AND "codigo" = 'BEB-002';
    SELECT "id" INTO snk FROM "Producto" WHERE "empresaId" = '{EMPRESA}' AND "codigo" = 'SNK-001';
    INSERT INTO "OrdenCompra" ("proveedorId", "estado", "total", "notas", "empresaId")
      VALUES (prov, 'BORRADOR', 52000, 'Reposición semanal', '{EMPRESA}') RETURNING "id" INTO borrador;
    INSERT INTO "OrdenCompraItem" ("ordenCompraId", "productoId", "cantidad", "costoUnitario", "subtotal")
      VALUES (borrador, gas."id", 20, 2600, 52000);
    INSERT INTO "OrdenCompra" ("proveedorId", "estado", "total", "notas", "recibidaEn", "empresaId")
      VALUES (prov, 'RECIBIDA', 39000, NULL, now() AT TIME ZONE 'UTC', '{EMPRESA}') RETURNING "id" INTO recibida;
    INSERT INTO "OrdenCompraItem" ("ordenCompraId", "productoId", "cantidad", "costoUnitario", "subtotal")
      VALUES (recibida, gas."id", 10, 2500, 25000), (recibida, snk."id", 10, 1400, 14000);
    INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "ordenCompraId", "empresaId")
      VALUES (gas."id", 'entrada', 10, 'Orden de compra #' || recibida, recibida, '{EMPRESA}'),
             (snk."id", 'entrada', 10, 'Orden de compra #' || recibida, recibida, '{EMPRESA}');
    UPDATE "Producto" SET "cantidad" = "cantidad" + 10 WHERE "id" IN (gas."id", snk."id");
  END IF;
END
$compras$;
"#
    ))
    .await?;
    Ok(())
}

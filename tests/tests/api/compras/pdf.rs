//! GET /api/pdf/orden-compra/{id} (purchasing.md §6), read back with `pdftotext` (poppler-utils,
//! installed by scripts/test): the §6.4 lines and nothing else, the Bogotá date (§9 #7), product
//! cells truncated at 45 UTF-16 units, page breaks, non-WinAnsi text, the raw 0xA0 of the money
//! format, headers and JSON errors.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use super::*;

/// The PDF's text as `pdftotext -layout` extracts it (pages end with a form feed); the no-break
/// space of the money format reads as a plain space.
fn texto_pdf(bytes: &[u8]) -> String {
    let mut hijo = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils) instalado: scripts/test lo instala");
    hijo.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = hijo.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace('\u{a0}', " ")
}

/// `pdfinfo`'s page count, checking that poppler reads the file without any complaint (a wrong
/// xref offset or object makes it print "Syntax Error"/"Syntax Warning" and rebuild the table).
fn paginas_sin_errores(bytes: &[u8]) -> u32 {
    let ruta = std::env::temp_dir().join(format!("orden-{}.pdf", rand::random::<u64>()));
    std::fs::write(&ruta, bytes).unwrap();
    let out = Command::new("pdfinfo")
        .arg(&ruta)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let _ = std::fs::remove_file(&ruta);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "pdfinfo: {err}"
    );
    let info = String::from_utf8_lossy(&out.stdout);
    let paginas = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("Pages:")
        .trim()
        .parse()
        .unwrap();
    let tam = info
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .unwrap_or("");
    assert!(
        tam.contains("595.28 x 841.89") && tam.contains("A4"),
        "{tam}"
    );
    paginas
}

/// Non-empty lines with runs of spaces collapsed, and no space after `$`: extractors print the
/// U+00A0 of the money format as a space or not at all depending on layout, so the byte itself is
/// checked in the raw stream instead.
fn lineas(texto: &str) -> Vec<String> {
    texto
        .lines()
        .map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("$ ", "$")
        })
        .filter(|l| !l.is_empty())
        .collect()
}

async fn pdf(app: &App, c: &str, id: i64) -> Res {
    app.get(&format!("/api/pdf/orden-compra/{id}"))
        .cookie(c)
        .send()
        .await
}

#[tokio::test]
async fn pdf_lineas_de_6_4_sin_email_direccion_ni_notas() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Ferretería Sur").await;
    let p1 = producto(&f.app, &f.e, "FER-001", 0, 1).await;
    let p2 = producto(&f.app, &f.e, "FER-002", 0, 1).await;
    let r = f
        .app
        .post("/api/ordenes-compra")
        .cookie(&f.c)
        .json(
            json!({"proveedorId": prov, "notas": "NOTA-SECRETA", "items": [
                {"productoId": p1, "cantidad": 3, "costoUnitario": 1500},
                {"productoId": p2, "cantidad": 1000, "costoUnitario": 12345.678},
            ]}),
        )
        .send()
        .await;
    let id = r.body["id"].as_i64().unwrap();
    f.app
        .pg
        .execute(
            r#"UPDATE "OrdenCompra" SET "creadoEn" = '2026-01-05 15:00:00' WHERE "id" = $1"#,
            &[&(id as i32)],
        )
        .await
        .unwrap();
    let r = pdf(&f.app, &f.c, id).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("inline; filename=\"orden-compra-{id}.pdf\"").as_str())
    );
    assert_eq!(r.header("cache-control"), None);
    assert!(r.bytes.starts_with(b"%PDF-"));
    assert_eq!(paginas_sin_errores(&r.bytes), 1);
    let t = texto_pdf(&r.bytes);
    assert_eq!(
        lineas(&t),
        vec![
            format!("Orden de Compra #{id}"),
            "Proveedor".to_string(),
            "Ferretería Sur".into(),
            "NIT: 900-1".into(),
            "Contacto: Ana".into(),
            "Teléfono: 300".into(),
            "Fecha: 5/1/2026".into(),
            "Estado: BORRADOR".into(),
            "Ítems".into(),
            "Producto Cant. Costo Subtotal".into(),
            "FER-001 - Producto FER-001 3 $1.500 $4.500".into(),
            "FER-002 - Producto FER-002 1000 $12.346 $12.345.678".into(),
            "Total: $12.350.178".into(),
        ],
        "{t}"
    );
    for ausente in ["a@b.co", "Calle 1", "NOTA-SECRETA"] {
        assert!(!t.contains(ausente), "{ausente}");
    }
    // The money format's U+00A0 is the WinAnsi byte 0xA0 in the (uncompressed) content stream.
    let crudo = &r.bytes;
    assert!(
        crudo.windows(3).any(|w| w == b"$\xa01"),
        "0xA0 after $ in the stream"
    );
    assert!(crudo.windows(12).any(|w| w == b"/Helvetica-B"));
    assert!(crudo.windows(16).any(|w| w == b"/WinAnsiEncoding"));
}

#[tokio::test]
async fn pdf_fecha_en_bogota_a_las_0030_utc_es_el_dia_anterior() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Sur").await;
    let p = producto(&f.app, &f.e, "X-1", 0, 1).await;
    let o = orden(
        &f.app,
        &f.c,
        prov,
        json!([{"productoId": p, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    for (utc, esperado) in [
        ("2026-06-23 00:30:00", "Fecha: 22/6/2026"),
        ("2026-06-23 04:59:59.999", "Fecha: 22/6/2026"),
        ("2026-06-23 05:00:00", "Fecha: 23/6/2026"),
        ("2026-12-01 03:00:00", "Fecha: 30/11/2026"),
    ] {
        f.app
            .pg
            .execute(
                &format!(r#"UPDATE "OrdenCompra" SET "creadoEn" = '{utc}' WHERE "id" = $1"#),
                &[&(id as i32)],
            )
            .await
            .unwrap();
        let t = texto_pdf(&pdf(&f.app, &f.c, id).await.bytes);
        assert!(lineas(&t).contains(&esperado.to_string()), "{utc}: {t}");
    }
}

#[tokio::test]
async fn pdf_sin_datos_opcionales_truncado_y_estado_recibida() {
    let f = fx().await;
    let prov: i32 = f.app.pg.query_one(
        r#"INSERT INTO "Proveedor" ("nombre", "nit", "contacto", "telefono", "empresaId") VALUES ('Solo nombre', '', NULL, NULL, $1) RETURNING "id""#,
        &[&f.e],
    ).await.unwrap().get(0);
    let largo = producto(&f.app, &f.e, "L-1", 0, 1).await;
    // "L-1 - " (6) + 40 = 46 units > 45 → 42 + "...".
    let nombre = "a".repeat(40);
    f.app
        .pg
        .execute(
            r#"UPDATE "Producto" SET "nombre" = $1 WHERE "id" = $2"#,
            &[&nombre, &largo],
        )
        .await
        .unwrap();
    let justo = producto(&f.app, &f.e, "J-1", 0, 1).await;
    let nombre45 = "b".repeat(39);
    f.app
        .pg
        .execute(
            r#"UPDATE "Producto" SET "nombre" = $1 WHERE "id" = $2"#,
            &[&nombre45, &justo],
        )
        .await
        .unwrap();
    let o = orden(
        &f.app,
        &f.c,
        prov,
        json!([
            {"productoId": largo, "cantidad": 1, "costoUnitario": 0.49},
            {"productoId": justo, "cantidad": 1, "costoUnitario": 9999.5},
        ]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    assert_eq!(
        f.app
            .post(&format!("/api/ordenes-compra/{id}/recibir"))
            .cookie(&f.c)
            .send()
            .await
            .status,
        200
    );
    let l = lineas(&texto_pdf(&pdf(&f.app, &f.c, id).await.bytes));
    assert_eq!(l[2], "Solo nombre");
    assert!(
        l[3].starts_with("Fecha: "),
        "no NIT/Contacto/Teléfono lines: {l:?}"
    );
    assert_eq!(l[4], "Estado: RECIBIDA");
    assert_eq!(l[7], format!("L-1 - {}... 1 $0 $0", "a".repeat(36)));
    assert_eq!(l[8], format!("J-1 - {} 1 $10.000 $10.000", "b".repeat(39)));
    assert_eq!(l[9], "Total: $10.000");
}

#[tokio::test]
async fn pdf_dos_paginas_y_texto_no_winansi_nunca_falla() {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "供应商 😀 Ñandú €").await;
    let p = producto(&f.app, &f.e, "CJK-1", 0, 1).await;
    f.app
        .pg
        .execute(
            r#"UPDATE "Producto" SET "nombre" = '螺丝 🔩 (M4) \ x' WHERE "id" = $1"#,
            &[&p],
        )
        .await
        .unwrap();
    let items: Vec<_> = (0..60)
        .map(|_| json!({"productoId": p, "cantidad": 1, "costoUnitario": 1000}))
        .collect();
    let o = orden(&f.app, &f.c, prov, json!(items)).await;
    let id = o["id"].as_i64().unwrap();
    let r = pdf(&f.app, &f.c, id).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let t = texto_pdf(&r.bytes);
    let paginas: Vec<&str> = t.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(paginas.len(), 2, "{t}");
    let l = lineas(&t);
    assert_eq!(l[2], "??? ? Ñandú €");
    assert_eq!(
        l.iter()
            .filter(|x| x.starts_with("CJK-1 - ?? ? (M4) \\ x 1 $1.000 $1.000"))
            .count(),
        60
    );
    // Nothing repeated on page 2: no title or table header; the total closes it.
    let p2 = lineas(paginas[1]);
    assert!(
        p2.iter()
            .all(|x| !x.starts_with("Orden de Compra") && x != "Producto Cant. Costo Subtotal")
    );
    assert_eq!(p2.last().unwrap(), "Total: $60.000");
    assert!(
        r.bytes.windows(9).any(|w| w == b"/Count 2 "),
        "two page objects"
    );
}

#[tokio::test]
async fn pdf_errores_json_404_de_otra_empresa() {
    let f = fx().await;
    let otra = f.app.empresa().await;
    let (_, c2) = f.app.admin(&otra).await;
    let prov = proveedor(&f.app, &f.e, "Sur").await;
    let p = producto(&f.app, &f.e, "X-1", 0, 1).await;
    let o = orden(
        &f.app,
        &f.c,
        prov,
        json!([{"productoId": p, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    for (c, oid) in [(&c2, id), (&f.c, 999999)] {
        let r = pdf(&f.app, c, oid).await;
        assert_eq!(r.err(), (404, "Orden de compra no encontrada"));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    // A plain user of the tenant may print (family B).
    let u = f.app.usuario(&f.e, "USUARIO", "ACTIVO", &[]).await;
    let cu = f.app.sesion(&u).await;
    assert_eq!(pdf(&f.app, &cu, id).await.status, 200);
}

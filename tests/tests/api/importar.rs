//! POST /api/productos/importar and GET /api/productos/plantilla (catalog.md §6, §7.1) over the
//! real handler and Postgres: CSV and XLSX parsing, column mapping, per-row report, categories,
//! generated codes, batching fallback, guards, limits. `bench_importar_5000` is the benchmark
//! behind `scripts/bench-import` (ignored by default).

use std::time::Instant;

use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use serde_json::{Value, json};
use tests::{App, Opciones, Res, spawn_app, spawn_app_con};

const RUTA: &str = "/api/productos/importar";
const FRONTERA: &str = "----InventarioFrontera7MA4YWxkTrZu0gW";
const GENERICO: &str = "Error al procesar el archivo.";

const PLANTILLA: &str = "\u{feff}codigo,nombre,descripcion,precio,cantidad,stockMinimo,categoria\n\
LAP-001,Lápiz HB,Caja por 12 unidades,5000,100,20,Oficina\n\
PAPEL-001,Resma carta,75 gr 500 hojas,15000,50,10,Oficina\n\
AGUA-001,Agua mineral 600ml,Sin gas,2500,200,40,Bebidas";

async fn app_admin() -> (App, String, String) {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    (app, e, c)
}

/// A multipart body with one file part `campo` named `archivo` (plus a text field).
fn multipart(campo: &str, archivo: Option<&str>, contenido: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{FRONTERA}\r\nContent-Disposition: form-data; name=\"nota\"\r\n\r\nhola\r\n--{FRONTERA}\r\n"
        )
        .as_bytes(),
    );
    let disposicion = match archivo {
        Some(n) => format!("form-data; name=\"{campo}\"; filename=\"{n}\""),
        None => format!("form-data; name=\"{campo}\""),
    };
    b.extend_from_slice(
        format!(
            "Content-Disposition: {disposicion}\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(contenido);
    b.extend_from_slice(format!("\r\n--{FRONTERA}--\r\n").as_bytes());
    b
}

async fn subir(app: &App, cookie: &str, nombre: &str, contenido: &[u8]) -> Res {
    app.post(RUTA)
        .cookie(cookie)
        .cabecera(
            "content-type",
            &format!("multipart/form-data; boundary={FRONTERA}"),
        )
        .cuerpo_binario(&multipart("archivo", Some(nombre), contenido))
        .send()
        .await
}

async fn subir_json(app: &App, cookie: &str, csv: &str) -> Res {
    app.post(RUTA)
        .cookie(cookie)
        .json(json!({ "csv": csv }))
        .send()
        .await
}

fn ids(r: &Res) -> Vec<Option<i64>> {
    r.body["resultados"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["productoId"].as_i64())
        .collect()
}

async fn producto(app: &App, empresa: &str, codigo: &str) -> Value {
    let f = app
        .pg
        .query_one(
            r#"SELECT json_build_object('nombre', p."nombre", 'descripcion', p."descripcion",
                      'precio', p."precio", 'cantidad', p."cantidad", 'stockMinimo', p."stockMinimo",
                      'categoria', c."nombre", 'prefijo', c."prefijo")
               FROM "Producto" p JOIN "Categoria" c ON c."id" = p."categoriaId"
               WHERE p."empresaId" = $1 AND p."codigo" = $2"#,
            &[&empresa, &codigo],
        )
        .await
        .unwrap();
    f.get(0)
}

async fn categorias(app: &App, empresa: &str) -> Vec<(String, String)> {
    app.pg
        .query(
            r#"SELECT "nombre", "prefijo" FROM "Categoria" WHERE "empresaId" = $1 ORDER BY "id""#,
            &[&empresa],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1)))
        .collect()
}

async fn movimientos(app: &App, empresa: &str) -> Vec<(String, i32, String)> {
    app.pg
        .query(
            r#"SELECT p."codigo", m."cantidad", m."notas" FROM "Movimiento" m
               JOIN "Producto" p ON p."id" = m."productoId"
               WHERE m."empresaId" = $1 AND m."tipo" = 'entrada' ORDER BY m."id""#,
            &[&empresa],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2)))
        .collect()
}

// ---------- GET /api/productos/plantilla ----------

#[tokio::test]
async fn plantilla_exacta_con_cabeceras() {
    let (app, _, c) = app_admin().await;
    let r = app.get("/api/productos/plantilla").cookie(&c).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.texto, PLANTILLA);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"plantilla_productos.csv\"")
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn plantilla_guardas_familia_a() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let r = app.get("/api/productos/plantilla").send().await;
    assert_eq!(r.err(), (401, "No autorizado"));
    for (rol, estado, esperado) in [
        (
            "ADMIN",
            "SUSPENDIDO",
            (403, "Usuario inactivo o suspendido"),
        ),
        ("ADMIN", "PENDIENTE", (403, "Usuario inactivo o suspendido")),
        ("USUARIO", "ACTIVO", (403, "No autorizado")),
    ] {
        let u = app.usuario(&e, rol, estado, &[]).await;
        let c = app.sesion(&u).await;
        let r = app.get("/api/productos/plantilla").cookie(&c).send().await;
        assert_eq!(r.err(), esperado, "{rol} {estado}");
    }
}

// ---------- POST /api/productos/importar ----------

#[tokio::test]
async fn la_plantilla_importada_crea_tres_productos_categorias_movimientos_y_auditoria() {
    let (app, e, c) = app_admin().await;
    let plantilla = app.get("/api/productos/plantilla").cookie(&c).send().await;
    let r = subir(
        &app,
        &c,
        "plantilla_productos.csv",
        plantilla.texto.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let id = ids(&r);
    assert_eq!(
        r.body,
        json!({
            "formato": "csv",
            "mapeo": {"codigo": "codigo", "nombre": "nombre", "descripcion": "descripcion",
                      "precio": "precio", "cantidad": "cantidad", "stockMinimo": "stockminimo",
                      "categoria": "categoria"},
            "ignoradas": [],
            "total": 3, "creados": 3, "errores": 0,
            "resultados": [
                {"linea": 2, "codigo": "LAP-001", "nombre": "Lápiz HB", "estado": "creado",
                 "productoId": id[0], "mensaje": " Categoría \"Oficina\" creada con prefijo OFI."},
                {"linea": 3, "codigo": "PAPEL-001", "nombre": "Resma carta", "estado": "creado",
                 "productoId": id[1]},
                {"linea": 4, "codigo": "AGUA-001", "nombre": "Agua mineral 600ml", "estado": "creado",
                 "productoId": id[2], "mensaje": " Categoría \"Bebidas\" creada con prefijo BEB."},
            ]
        })
    );
    assert!(id[0] < id[1] && id[1] < id[2], "ids en orden de archivo");
    // "Sin clasificar" is created first, even though no row needs it.
    assert_eq!(
        categorias(&app, &e).await,
        vec![
            ("Sin clasificar".into(), "SIN".into()),
            ("Oficina".into(), "OFI".into()),
            ("Bebidas".into(), "BEB".into()),
        ]
    );
    assert_eq!(
        producto(&app, &e, "LAP-001").await,
        json!({"nombre": "Lápiz HB", "descripcion": "Caja por 12 unidades", "precio": 5000,
               "cantidad": 100, "stockMinimo": 20, "categoria": "Oficina", "prefijo": "OFI"})
    );
    let notas = "Stock inicial (importación CSV)".to_string();
    assert_eq!(
        movimientos(&app, &e).await,
        vec![
            ("LAP-001".into(), 100, notas.clone()),
            ("PAPEL-001".into(), 50, notas.clone()),
            ("AGUA-001".into(), 200, notas),
        ]
    );
    // Audit: one row per created category and product, none for "Sin clasificar", no
    // change-log or price-history rows.
    let auditoria = app
        .pg
        .query(
            r#"SELECT "accion", "entidad", "entidadId", "datos" FROM "Auditoria"
               WHERE "empresaId" = $1 ORDER BY "id""#,
            &[&e],
        )
        .await
        .unwrap();
    let filas: Vec<(String, String, Value)> = auditoria
        .iter()
        .map(|f| {
            let accion: String = f.get(0);
            assert_eq!(accion, "CREAR");
            let datos: Value = f.get(3);
            let despues = &datos["despues"];
            (
                f.get(1),
                f.get::<_, Option<String>>(2).unwrap(),
                json!([despues["nombre"], despues.get("codigo"), datos["origen"]]),
            )
        })
        .collect();
    let ids_cat: Vec<String> = app
        .pg
        .query(
            r#"SELECT "id"::text FROM "Categoria" WHERE "empresaId" = $1 AND "nombre" <> 'Sin clasificar' ORDER BY "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| f.get(0))
        .collect();
    let p = |i: usize| id[i].unwrap().to_string();
    assert_eq!(
        filas,
        vec![
            (
                "Categoria".into(),
                ids_cat[0].clone(),
                json!(["Oficina", null, "importacion"])
            ),
            (
                "Producto".into(),
                p(0),
                json!(["Lápiz HB", "LAP-001", "importacion_csv"])
            ),
            (
                "Producto".into(),
                p(1),
                json!(["Resma carta", "PAPEL-001", "importacion_csv"])
            ),
            (
                "Categoria".into(),
                ids_cat[1].clone(),
                json!(["Bebidas", null, "importacion"])
            ),
            (
                "Producto".into(),
                p(2),
                json!(["Agua mineral 600ml", "AGUA-001", "importacion_csv"])
            ),
        ]
    );
    let datos: Value = auditoria[1].get(3);
    assert_eq!(datos["despues"]["precio"], json!(5000));
    assert_eq!(datos["despues"]["cantidad"], json!(100));
    assert!(
        datos["despues"]["creadoEn"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    for tabla in ["HistorialMovimientos", "HistorialPrecio"] {
        let n = app
            .contar(
                &format!(r#"SELECT count(*) FROM "{tabla}" WHERE "empresaId" = $1"#),
                &[&e],
            )
            .await;
        assert_eq!(n, 0, "{tabla}");
    }
}

#[tokio::test]
async fn csv_con_comillas_bom_lineas_vacias_y_filas_mixtas() {
    let (app, e, c) = app_admin().await;
    let oficina = app.categoria(&e, "Oficina", "OFI").await;
    app.producto(&e, oficina, "EXIST-1", 0).await;
    let csv = [
        "\u{feff}Código,Nombre,Descripción,Precio,Cantidad,Stock Mínimo,Categoría",
        "",
        r#"A-1,"Lápiz, rojo","Dice ""hola""","$1,250",5,2,Oficina"#,
        r#""A-2","Say ""hi""",x,"1.250",,0,"Oficina""#,
        r#""A-3,Goma ""azul"",,300,1,1,oficina""#,
        "A-1,Duplicado,,10,,,",
        ",Sin código,,Infinity,,,",
        r#", "Producto X" ,,"1,5",3.7,0x10,Bebidas"#,
        "   ",
        ",,,5,,,",
        "B-1,Neg,,5,-1,,",
        "B-2,Min,,5,,bajo,",
        "B-3,Precio malo,,abc,,,Nueva",
        "EXIST-1,Existente,,5,,,",
        ",Otra bebida,,7,,,bebidas ",
    ]
    .join("\r\n");
    let r = subir(&app, &c, "Productos.CSV", csv.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let id = ids(&r);
    let bebidas = " Categoría \"Bebidas\" creada con prefijo BEB.";
    assert_eq!(
        r.body,
        json!({
            "formato": "csv",
            "mapeo": {"codigo": "código", "nombre": "nombre", "descripcion": "descripción",
                      "precio": "precio", "cantidad": "cantidad", "stockMinimo": "stock mínimo",
                      "categoria": "categoría"},
            "ignoradas": [],
            "total": 12, "creados": 5, "errores": 7,
            "resultados": [
                {"linea": 2, "codigo": "A-1", "nombre": "Lápiz, rojo", "estado": "creado", "productoId": id[0]},
                {"linea": 3, "codigo": "A-2", "nombre": "Say \"hi\"", "estado": "creado", "productoId": id[1]},
                {"linea": 4, "codigo": "A-3", "nombre": "Goma \"azul\"", "estado": "creado", "productoId": id[2]},
                {"linea": 5, "codigo": "A-1", "nombre": "Duplicado", "estado": "error",
                 "mensaje": "Ya existe un producto con código \"A-1\"."},
                {"linea": 6, "codigo": "", "nombre": "Sin código", "estado": "error",
                 "mensaje": "Precio inválido: \"Infinity\"."},
                {"linea": 7, "codigo": "BEB-001", "nombre": "Producto X", "estado": "creado",
                 "productoId": id[5], "mensaje": bebidas},
                {"linea": 8, "codigo": "", "nombre": "", "estado": "error", "mensaje": "Falta el nombre."},
                {"linea": 9, "codigo": "B-1", "nombre": "Neg", "estado": "error",
                 "mensaje": "Cantidad inválida: \"-1\"."},
                {"linea": 10, "codigo": "B-2", "nombre": "Min", "estado": "error",
                 "mensaje": "Stock mínimo inválido: \"bajo\"."},
                {"linea": 11, "codigo": "B-3", "nombre": "Precio malo", "estado": "error",
                 "mensaje": "Precio inválido: \"abc\"."},
                {"linea": 12, "codigo": "EXIST-1", "nombre": "Existente", "estado": "error",
                 "mensaje": "Ya existe un producto con código \"EXIST-1\"."},
                {"linea": 13, "codigo": "BEB-002", "nombre": "Otra bebida", "estado": "creado",
                 "productoId": id[11]},
            ]
        })
    );
    assert_eq!(
        producto(&app, &e, "A-1").await,
        json!({"nombre": "Lápiz, rojo", "descripcion": "Dice \"hola\"", "precio": 1250,
               "cantidad": 5, "stockMinimo": 2, "categoria": "Oficina", "prefijo": "OFI"})
    );
    assert_eq!(
        producto(&app, &e, "A-2").await,
        json!({"nombre": "Say \"hi\"", "descripcion": "x", "precio": 1.25,
               "cantidad": 0, "stockMinimo": 0, "categoria": "Oficina", "prefijo": "OFI"})
    );
    assert_eq!(
        producto(&app, &e, "BEB-001").await,
        json!({"nombre": "Producto X", "descripcion": null, "precio": 15,
               "cantidad": 3, "stockMinimo": 16, "categoria": "Bebidas", "prefijo": "BEB"})
    );
    // "Nueva" belonged to a row that failed its field checks: never created.
    assert_eq!(
        categorias(&app, &e).await,
        vec![
            ("Oficina".into(), "OFI".into()),
            ("Sin clasificar".into(), "SIN".into()),
            ("Bebidas".into(), "BEB".into()),
        ]
    );
    let notas = "Stock inicial (importación CSV)".to_string();
    assert_eq!(
        movimientos(&app, &e).await,
        vec![
            ("A-1".into(), 5, notas.clone()),
            ("A-3".into(), 1, notas.clone()),
            ("BEB-001".into(), 3, notas),
        ]
    );
}

#[tokio::test]
async fn codigos_generados_continuan_la_numeracion_y_saltan_los_usados() {
    let (app, e, c) = app_admin().await;
    let bebidas = app.categoria(&e, "Bebidas", "BEB").await;
    let otra = app.categoria(&e, "Otra", "OTR").await;
    app.producto(&e, bebidas, "BEB-00007", 0).await;
    app.producto(&e, otra, "BEB-008", 0).await;
    let csv = "nombre,precio,categoria,codigo\nA,1,Bebidas,\nB,1,Bebidas,BEB-020\nC,1,BEBIDAS,\nD,1,bebidas,\nE,1,,\nF,1,,SIN-001";
    let r = subir_json(&app, &c, csv).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let codigos: Vec<(&str, &str)> = r.body["resultados"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["codigo"].as_str().unwrap(), x["estado"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codigos,
        vec![
            ("BEB-009", "creado"),
            ("BEB-020", "creado"),
            ("BEB-021", "creado"),
            ("BEB-022", "creado"),
            ("SIN-001", "creado"),
            ("SIN-001", "error"),
        ]
    );
    assert_eq!(
        r.body["resultados"][5]["mensaje"],
        json!("Ya existe un producto con código \"SIN-001\".")
    );
    // JSON variant, no category created here: no suffixes.
    assert!(
        r.body["resultados"]
            .as_array()
            .unwrap()
            .iter()
            .take(5)
            .all(|x| x.get("mensaje").is_none())
    );
}

#[tokio::test]
async fn un_lote_fallido_se_reprocesa_fila_a_fila_con_el_mismo_resultado() {
    let (app, e, c) = app_admin().await;
    // An incompressible 8,000-character code exceeds the btree row limit: the multi-row INSERT
    // fails and the rows are replayed one by one; only that row fails.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let enorme: String = (0..8000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(x % 62) as usize]
                as char
        })
        .collect();
    let csv = format!(
        "codigo,nombre,precio,cantidad,categoria\n,Uno,1,2,Bebidas\n{enorme},Dos,1,2,Bebidas\n,Tres,1,2,Bebidas\n,Cuatro,1,0,Aseo"
    );
    let r = subir(&app, &c, "x.csv", csv.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let res = r.body["resultados"].as_array().unwrap();
    let resumen: Vec<(&str, &str, Option<&str>)> = res
        .iter()
        .map(|x| {
            (
                x["codigo"].as_str().unwrap(),
                x["estado"].as_str().unwrap(),
                x["mensaje"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        resumen,
        vec![
            (
                "BEB-001",
                "creado",
                Some(" Categoría \"Bebidas\" creada con prefijo BEB.")
            ),
            (
                enorme.as_str(),
                "error",
                Some("Error interno al crear el producto.")
            ),
            ("BEB-002", "creado", None),
            (
                "ASE-001",
                "creado",
                Some(" Categoría \"Aseo\" creada con prefijo ASE.")
            ),
        ]
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Producto" WHERE "empresaId" = $1"#,
            &[&e]
        )
        .await,
        3
    );
    assert_eq!(movimientos(&app, &e).await.len(), 2);
}

#[tokio::test]
async fn xlsx_con_titulos_texto_enriquecido_numeros_fechas_y_formulas() {
    let (app, e, c) = app_admin().await;
    let mut libro = Workbook::new();
    let hoja = libro.add_worksheet();
    let negrita = Format::new().set_bold();
    let normal = Format::new();
    let fecha = Format::new().set_num_format("yyyy-mm-dd");
    hoja.write_string(0, 0, "Inventario de productos").unwrap();
    hoja.write_string(1, 0, "Empresa Demo").unwrap();
    hoja.write_number(1, 1, 2026).unwrap();
    for (col, h) in [
        " Código ",
        "Producto",
        "Precio Venta",
        "Stock",
        "Categoría",
        "Vence",
        "",
        "Notas",
    ]
    .iter()
    .enumerate()
    {
        if !h.is_empty() {
            hoja.write_string(3, col as u16, *h).unwrap();
        }
    }
    hoja.write_rich_string(4, 1, &[(&normal, "Agua "), (&negrita, "mineral")])
        .unwrap();
    hoja.write_number(4, 2, 1500.5).unwrap();
    hoja.write_formula(4, 3, Formula::new("=2*5").set_result("10"))
        .unwrap();
    hoja.write_string(4, 4, "Bebidas").unwrap();
    hoja.write_datetime_with_format(4, 5, ExcelDateTime::from_ymd(2027, 3, 1).unwrap(), &fecha)
        .unwrap();
    hoja.write_string(4, 6, "fuera de columnas").unwrap();
    hoja.write_datetime_with_format(
        4,
        7,
        ExcelDateTime::from_ymd(2026, 1, 15)
            .unwrap()
            .and_hms(13, 30, 0)
            .unwrap(),
        &fecha,
    )
    .unwrap();
    hoja.write_string(5, 0, "X-9").unwrap();
    hoja.write_url_with_text(5, 1, "https://ejemplo.test/jabon", "Jabón")
        .unwrap();
    hoja.write_formula(5, 2, Formula::new("=C5*2").set_result("3001"))
        .unwrap();
    hoja.write_number(5, 3, 3).unwrap();
    hoja.write_string(5, 4, "Aseo").unwrap();
    hoja.write_boolean(5, 7, true).unwrap();
    hoja.write_string(6, 0, "   ").unwrap();
    hoja.write_string(7, 6, "solo fuera").unwrap();
    hoja.write_string(8, 0, "Z-1").unwrap();
    hoja.write_string(8, 1, "Malo").unwrap();
    hoja.write_formula(8, 2, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    hoja.write_string(9, 1, "Eterno").unwrap();
    hoja.write_string(9, 2, "Infinity").unwrap();
    for fila in 10..13 {
        hoja.write_string(fila, 6, "x").unwrap();
    }
    hoja.write_string(13, 1, "Fantasma").unwrap();
    hoja.write_number(13, 2, 1).unwrap();
    let bytes = libro.save_to_buffer().unwrap();

    let r = subir(&app, &c, "Inventario.XLSX", &bytes).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let id = ids(&r);
    assert_eq!(
        r.body,
        json!({
            "formato": "xlsx",
            "mapeo": {"codigo": "Código", "nombre": "Producto", "descripcion": "Notas",
                      "precio": "Precio Venta", "cantidad": "Stock", "categoria": "Categoría"},
            "ignoradas": ["Vence"],
            "total": 4, "creados": 2, "errores": 2,
            "resultados": [
                {"linea": 2, "codigo": "BEB-001", "nombre": "Agua mineral", "estado": "creado",
                 "productoId": id[0], "mensaje": " Categoría \"Bebidas\" creada con prefijo BEB."},
                {"linea": 3, "codigo": "X-9", "nombre": "Jabón", "estado": "creado",
                 "productoId": id[1], "mensaje": " Categoría \"Aseo\" creada con prefijo ASE."},
                {"linea": 4, "codigo": "Z-1", "nombre": "Malo", "estado": "error",
                 "mensaje": "Precio inválido: \"\"."},
                {"linea": 5, "codigo": "", "nombre": "Eterno", "estado": "error",
                 "mensaje": "Precio inválido: \"Infinity\"."},
            ]
        })
    );
    assert_eq!(
        producto(&app, &e, "BEB-001").await,
        json!({"nombre": "Agua mineral", "descripcion": "2026-01-15T13:30:00.000Z", "precio": 1500.5,
               "cantidad": 10, "stockMinimo": 1, "categoria": "Bebidas", "prefijo": "BEB"})
    );
    assert_eq!(
        producto(&app, &e, "X-9").await,
        json!({"nombre": "Jabón", "descripcion": "true", "precio": 3001,
               "cantidad": 3, "stockMinimo": 1, "categoria": "Aseo", "prefijo": "ASE"})
    );
    let notas = "Stock inicial (importación XLSX)".to_string();
    assert_eq!(
        movimientos(&app, &e).await,
        vec![
            ("BEB-001".into(), 10, notas.clone()),
            ("X-9".into(), 3, notas)
        ]
    );
    let origenes = app
        .contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "empresaId" = $1 AND "entidad" = 'Producto'
               AND "datos"->>'origen' = 'importacion_xlsx'"#,
            &[&e],
        )
        .await;
    assert_eq!(origenes, 2);
}

#[tokio::test]
async fn archivo_separado_por_punto_y_coma_es_400_con_mapeo() {
    let (app, e, c) = app_admin().await;
    let r = subir(
        &app,
        &c,
        "productos.csv",
        b"Codigo;Nombre;Precio\nA-1;Uno;100\n",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({
            "error": "No se encontraron columnas para: nombre (acepta: nombre, producto, articulo); precio (acepta: precio, valor, precio venta). Verifica los encabezados del archivo.",
            "mapeo": {},
            "ignoradas": ["codigo;nombre;precio"],
            "faltantes": ["nombre", "precio"],
        })
    );
    let r = subir_json(&app, &c, "SKU,Artículo,Costo\nA,B,1").await;
    assert_eq!(
        r.body,
        json!({
            "error": "No se encontraron columnas para: precio (acepta: precio, valor, precio venta). Verifica los encabezados del archivo.",
            "mapeo": {"codigo": "sku", "nombre": "artículo"},
            "ignoradas": ["costo"],
            "faltantes": ["precio"],
        })
    );
    // File-level failures write nothing, not even "Sin clasificar".
    assert!(categorias(&app, &e).await.is_empty());
}

/// `(label, body, content type, expected (status, error))`
type Caso = (&'static str, Vec<u8>, String, (u16, &'static str));

#[tokio::test]
async fn limites_y_archivos_ausentes_o_ilegibles() {
    let (app, _, c) = app_admin().await;
    let tipo = format!("multipart/form-data; boundary={FRONTERA}");
    let casos: Vec<Caso> = vec![
        (
            "sin parte archivo",
            multipart("otro", Some("a.csv"), b"nombre,precio\nA,1"),
            tipo.clone(),
            (400, "No se recibió ningún archivo."),
        ),
        (
            "archivo no es un fichero",
            multipart("archivo", None, b"nombre,precio\nA,1"),
            tipo.clone(),
            (400, "No se recibió ningún archivo."),
        ),
        (
            "archivo vacío",
            multipart("archivo", Some("a.csv"), b""),
            tipo.clone(),
            (400, "No se recibió ningún archivo."),
        ),
        (
            "solo líneas en blanco",
            multipart("archivo", Some("a.csv"), b"\xef\xbb\xbf \r\n\r\n"),
            tipo.clone(),
            (400, "El archivo está vacío."),
        ),
        (
            "multipart sin frontera",
            multipart("archivo", Some("a.csv"), b"x"),
            "multipart/form-data".into(),
            (400, GENERICO),
        ),
        (
            "multipart truncado",
            b"--XYZ\r\nContent-Disposition: form-data; name=\"archivo\"; filename=\"a.csv\"\r\n\r\nnombre"
                .to_vec(),
            "multipart/form-data; boundary=XYZ".into(),
            (400, GENERICO),
        ),
        (
            "xlsx ilegible",
            multipart("archivo", Some("a.xlsm"), b"PK no es un zip"),
            tipo.clone(),
            (400, GENERICO),
        ),
        (
            "json malformado",
            b"{\"csv\": ".to_vec(),
            "application/json".into(),
            (400, GENERICO),
        ),
        (
            "json null",
            b"null".to_vec(),
            "application/json".into(),
            (400, GENERICO),
        ),
        (
            "csv en blanco",
            br#"{"csv": "  \n "}"#.to_vec(),
            "application/json".into(),
            (400, "El archivo está vacío."),
        ),
        (
            "csv no texto",
            br#"{"csv": 5}"#.to_vec(),
            "application/json".into(),
            (400, "El archivo está vacío."),
        ),
        (
            "json no objeto",
            br#"[1]"#.to_vec(),
            "application/json".into(),
            (400, "El archivo está vacío."),
        ),
    ];
    for (caso, cuerpo, tipo, esperado) in casos {
        let r = app
            .post(RUTA)
            .cookie(&c)
            .cabecera("content-type", &tipo)
            .cuerpo_binario(&cuerpo)
            .send()
            .await;
        assert_eq!(r.err(), esperado, "{caso}");
    }

    // Empty first worksheet.
    let mut libro = Workbook::new();
    libro.add_worksheet();
    let r = subir(&app, &c, "vacio.xlsx", &libro.save_to_buffer().unwrap()).await;
    assert_eq!(r.err(), (400, "El archivo está vacío."));

    // > 10 MB: 413 with the size to one decimal.
    let grande = vec![b'a'; 10 * 1024 * 1024 + 1];
    let r = subir(&app, &c, "grande.csv", &grande).await;
    assert_eq!(
        r.err(),
        (
            413,
            "El archivo excede el límite de 10 MB (tamaño recibido: 10.0 MB)."
        )
    );

    // > 5000 data rows (blank lines do not count).
    let mut csv = String::from("nombre,precio\n\n");
    for i in 0..5001 {
        csv.push_str(&format!("P{i},1\n"));
    }
    let r = subir_json(&app, &c, &csv).await;
    assert_eq!(
        r.err(),
        (
            400,
            "El archivo contiene 5,001 filas. El máximo permitido es 5,000."
        )
    );
}

#[tokio::test]
async fn guardas_familia_i_y_otra_empresa_intacta() {
    let app = spawn_app().await;
    let a = app.empresa().await;
    let b = app.empresa().await;
    let csv = "codigo,nombre,precio,cantidad,categoria\nX-1,Uno,10,4,Oficina";
    let r = app.post(RUTA).json(json!({ "csv": csv })).send().await;
    assert_eq!(r.err(), (401, "No autorizado"));
    for (rol, estado, esperado) in [
        (
            "ADMIN",
            "SUSPENDIDO",
            (403, "Usuario inactivo o suspendido"),
        ),
        (
            "SUPER_ADMIN",
            "PENDIENTE",
            (403, "Usuario inactivo o suspendido"),
        ),
        ("USUARIO", "ACTIVO", (403, "No autorizado")),
    ] {
        let u = app
            .usuario(&a, rol, estado, &["AGREGAR_STOCK", "REGISTRAR_MOVIMIENTOS"])
            .await;
        let c = app.sesion(&u).await;
        let r = subir_json(&app, &c, csv).await;
        assert_eq!(r.err(), esperado, "{rol} {estado}");
    }
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Producto""#, &[]).await,
        0
    );

    // Empresa B has the same code and category name: A's import neither sees nor touches them.
    let oficina_b = app.categoria(&b, "Oficina", "OFI").await;
    let x1_b = app.producto(&b, oficina_b, "X-1", 7).await;
    let u = app.usuario(&a, "SUPER_ADMIN", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = subir_json(&app, &c, csv).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(r.body["resultados"][0]["estado"], json!("creado"));
    assert_eq!(
        r.body["resultados"][0]["mensaje"],
        json!(" Categoría \"Oficina\" creada con prefijo OFI.")
    );
    assert_eq!(
        categorias(&app, &b).await,
        vec![("Oficina".into(), "OFI".into())]
    );
    let f = app
        .pg
        .query_one(
            r#"SELECT "cantidad", "nombre" FROM "Producto" WHERE "id" = $1"#,
            &[&x1_b],
        )
        .await
        .unwrap();
    assert_eq!(
        (f.get::<_, i32>(0), f.get::<_, String>(1)),
        (7, "X-1".into())
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Producto" WHERE "empresaId" = $1"#,
            &[&b]
        )
        .await,
        1
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "empresaId" = $1"#,
            &[&b]
        )
        .await,
        0
    );
}

#[tokio::test]
async fn importacion_y_altas_concurrentes_no_repiten_codigos() {
    let (app, e, c) = app_admin().await;
    let bebidas = app.categoria(&e, "Bebidas", "BEB").await;
    let mut csv = String::from("nombre,precio,categoria");
    for i in 0..300 {
        csv.push_str(&format!("\nImportado {i},1,Bebidas"));
    }
    let altas = (0..8).map(|i| {
        app.post("/api/productos")
            .cookie(&c)
            .json(json!({"nombre": format!("Alta {i}"), "categoriaId": bebidas, "precio": 1}))
            .send()
    });
    let (r, altas) = tokio::join!(subir_json(&app, &c, &csv), futures::future::join_all(altas));
    assert_eq!(r.body["creados"], json!(300), "{}", r.texto);
    for a in &altas {
        assert_eq!(a.status, 201, "{}", a.texto);
    }
    // Both writers take the numbering lock of the category: no code is computed twice.
    let codigos: Vec<String> = app
        .pg
        .query(
            r#"SELECT "codigo" FROM "Producto" WHERE "empresaId" = $1 ORDER BY "codigo""#,
            &[&e],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| f.get(0))
        .collect();
    let esperados: Vec<String> = (1..=308).map(|n| format!("BEB-{n:03}")).collect();
    assert_eq!(codigos, esperados);
}

#[tokio::test]
async fn metodo_equivocado_es_405() {
    let (app, _, c) = app_admin().await;
    let r = app.get(RUTA).cookie(&c).send().await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("POST"));
}

/// The benchmark of `scripts/bench-import`: 5,000 rows (half with generated codes, ten new
/// categories, every row with initial stock) through the real handler.
#[tokio::test]
#[ignore = "benchmark: scripts/bench-import"]
async fn bench_importar_5000() {
    let app = spawn_app_con(Opciones {
        redis: None,
        ..Opciones::default()
    })
    .await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    let mut csv = String::from("codigo,nombre,descripcion,precio,cantidad,stockMinimo,categoria\n");
    for i in 0..5000 {
        let codigo = if i % 2 == 0 {
            format!("P-{i:05}")
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "{codigo},Producto {i},\"Descripción, {i}\",\"${},{:03}.50\",{},{},Categoría {}\n",
            1 + i / 1000,
            i % 1000,
            1 + i % 50,
            i % 7,
            i % 10
        ));
    }
    let inicio = Instant::now();
    let r = subir(&app, &c, "bench.csv", csv.as_bytes()).await;
    let segundos = inicio.elapsed().as_secs_f64();
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        (r.body["total"].clone(), r.body["creados"].clone()),
        (json!(5000), json!(5000))
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Movimiento" WHERE "empresaId" = $1"#,
            &[&e]
        )
        .await,
        5000
    );
    println!(
        "bench-import: 5000 filas en {segundos:.3} s = {:.0} filas/s",
        5000.0 / segundos
    );
    assert!(segundos < 29.0, "más que el límite de API Gateway");
}

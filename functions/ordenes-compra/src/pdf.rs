//! GET /api/pdf/orden-compra/{id} (purchasing.md §6): the order as an A4 PDF, laid out exactly as
//! §6.3–§6.4, written by a small PDF writer with the standard Helvetica fonts in WinAnsi
//! encoding. Text is never a failure (§9 #7): a character outside WinAnsi is drawn as `?`.
//! Content streams are left uncompressed (the order is at most a few hundred lines).

use shared::calendario;

use crate::dominio::Detalle;

const ANCHO: f64 = 595.28;
const ALTO: f64 = 841.89;
const MARGEN: f64 = 50.0;
const Y_INICIAL: f64 = ALTO - MARGEN;
const NEGRO: (f64, f64, f64) = (0.0, 0.0, 0.0);
const GRIS: (f64, f64, f64) = (0.4, 0.4, 0.4);
/// §6.4: product cells longer than 45 UTF-16 units keep 42 and get `...`.
const CELDA_MAX: usize = 45;
const CELDA_CORTE: usize = 42;
/// Column x of the item table (§6.4 rows 10–11).
const COLUMNAS: [f64; 4] = [50.0, 330.0, 400.0, 490.0];

#[derive(Clone, Copy)]
enum Fuente {
    Normal,
    Negrita,
}

impl Fuente {
    fn nombre(self) -> &'static str {
        match self {
            Fuente::Normal => "F1",
            Fuente::Negrita => "F2",
        }
    }
}

/// Pages being drawn, pdf-lib style: a cursor `y` that moves down after each line.
struct Lienzo {
    paginas: Vec<Vec<u8>>,
    y: f64,
}

impl Lienzo {
    fn nuevo() -> Self {
        Self {
            paginas: vec![Vec::new()],
            y: Y_INICIAL,
        }
    }

    fn nueva_pagina(&mut self) {
        self.paginas.push(Vec::new());
        self.y = Y_INICIAL;
    }

    fn dibujar(&mut self, x: f64, texto: &str, fuente: Fuente, tam: f64, color: (f64, f64, f64)) {
        let y = self.y;
        let pagina = self.paginas.last_mut().expect("always one page");
        pagina.extend_from_slice(
            format!(
                "BT /{} {} Tf {} {} {} rg {} {} Td (",
                fuente.nombre(),
                num(tam),
                num(color.0),
                num(color.1),
                num(color.2),
                num(x),
                num(y)
            )
            .as_bytes(),
        );
        pagina.extend(literal(texto));
        pagina.extend_from_slice(b") Tj ET\n");
    }

    /// §6.3: break when `y < 50 + size`, draw, then `y −= size + 6`.
    fn linea(&mut self, texto: &str, fuente: Fuente, tam: f64, color: (f64, f64, f64), x: f64) {
        if self.y < MARGEN + tam {
            self.nueva_pagina();
        }
        self.dibujar(x, texto, fuente, tam, color);
        self.y -= tam + 6.0;
    }

    /// A table row (size 10): break when `y < 60`, advance 16.
    fn fila(&mut self, celdas: [&str; 4], fuente: Fuente) {
        if self.y < MARGEN + 10.0 {
            self.nueva_pagina();
        }
        for (x, t) in COLUMNAS.iter().zip(celdas) {
            self.dibujar(*x, t, fuente, 10.0, NEGRO);
        }
        self.y -= 16.0;
    }
}

/// A coordinate or size: at most 2 decimals, no trailing zeros (`791.89`, `50`, `0.4`).
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The WinAnsi (Windows-1252) byte of a character, if it has one.
fn winansi(c: char) -> Option<u8> {
    let u = c as u32;
    match u {
        0x20..=0x7e | 0xa0..=0xff => Some(u as u8),
        _ => Some(match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => return None,
        }),
    }
}

/// The bytes of a PDF literal string: WinAnsi, `?` for anything else, `\ ( )` escaped.
fn literal(texto: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(texto.len());
    for c in texto.chars() {
        let b = winansi(c).unwrap_or(b'?');
        if matches!(b, b'\\' | b'(' | b')') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// §6.4: longer than 45 UTF-16 units (JavaScript `length`) → the first 42 units + `...`; a
/// surrogate pair that would be cut in half is left out whole.
pub fn truncar(texto: &str) -> String {
    if texto.encode_utf16().count() <= CELDA_MAX {
        return texto.to_string();
    }
    let mut unidades = 0;
    let mut out = String::new();
    for c in texto.chars() {
        unidades += c.len_utf16();
        if unidades > CELDA_CORTE {
            break;
        }
        out.push(c);
    }
    out.push_str("...");
    out
}

/// §6.4 money: `es-CO` COP without decimals, `$` + U+00A0 + the integer (half away from zero)
/// with `.` every three digits (`$ 999`, `$ 1.000`, `$ 12.345.678`).
pub fn dinero(v: f64) -> String {
    let r = v.round();
    let digitos = format!("{:.0}", r.abs());
    let mut agrupado = String::with_capacity(digitos.len() + digitos.len() / 3);
    for (i, c) in digitos.chars().enumerate() {
        if i > 0 && (digitos.len() - i) % 3 == 0 {
            agrupado.push('.');
        }
        agrupado.push(c);
    }
    let signo = if r < 0.0 { "-" } else { "" };
    format!("{signo}$\u{a0}{agrupado}")
}

/// §6.4 row 7 (Required §9 #7): `d/M/yyyy` of the Bogotá day.
pub fn fecha(orden: &Detalle) -> String {
    calendario::dia_en_bogota(orden.orden.creado_en)
        .format("%-d/%-m/%Y")
        .to_string()
}

/// The whole document.
pub fn generar(d: &Detalle) -> Vec<u8> {
    let mut l = Lienzo::nuevo();
    l.linea(
        &format!("Orden de Compra #{}", d.orden.id),
        Fuente::Negrita,
        20.0,
        NEGRO,
        MARGEN,
    );
    l.y -= 4.0;
    l.linea("Proveedor", Fuente::Negrita, 13.0, NEGRO, MARGEN);
    let nombre = d.proveedor.as_ref().map_or("-", |p| p.nombre.as_str());
    l.linea(nombre, Fuente::Normal, 11.0, NEGRO, MARGEN);
    if let Some(p) = &d.proveedor {
        for (etiqueta, valor) in [
            ("NIT", &p.nit),
            ("Contacto", &p.contacto),
            ("Teléfono", &p.telefono),
        ] {
            if let Some(v) = valor.as_deref().filter(|v| !v.is_empty()) {
                l.linea(
                    &format!("{etiqueta}: {v}"),
                    Fuente::Normal,
                    11.0,
                    GRIS,
                    MARGEN,
                );
            }
        }
    }
    l.y -= 4.0;
    l.linea(
        &format!("Fecha: {}", fecha(d)),
        Fuente::Normal,
        11.0,
        GRIS,
        MARGEN,
    );
    l.linea(
        &format!("Estado: {}", d.orden.estado),
        Fuente::Normal,
        11.0,
        GRIS,
        MARGEN,
    );
    l.y -= 8.0;
    l.linea("Ítems", Fuente::Negrita, 13.0, NEGRO, MARGEN);
    l.fila(["Producto", "Cant.", "Costo", "Subtotal"], Fuente::Negrita);
    for i in &d.items {
        let producto = match &i.producto {
            Some(p) => format!("{} - {}", p.codigo, p.nombre),
            None => format!("Producto #{}", i.item.producto_id),
        };
        let cantidad = i.item.cantidad.to_string();
        let costo = dinero(i.item.costo_unitario);
        let subtotal = dinero(i.item.subtotal);
        l.fila(
            [&truncar(&producto), &cantidad, &costo, &subtotal],
            Fuente::Normal,
        );
    }
    l.y -= 8.0;
    l.linea(
        &format!("Total: {}", dinero(d.orden.total)),
        Fuente::Negrita,
        13.0,
        NEGRO,
        370.0,
    );
    escribir(&l.paginas)
}

/// Serialises catalog, page tree, the two fonts and one page + content stream per page, with
/// the cross-reference table.
fn escribir(paginas: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets: Vec<usize> = Vec::new();
    let n = paginas.len();
    // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, then (page, content) pairs.
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    let mut objeto = |out: &mut Vec<u8>, cuerpo: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(cuerpo);
        out.extend_from_slice(b"\nendobj\n");
    };
    objeto(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    objeto(
        &mut out,
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).as_bytes(),
    );
    for base in ["Helvetica", "Helvetica-Bold"] {
        objeto(
            &mut out,
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
            )
            .as_bytes(),
        );
    }
    for (i, contenido) in paginas.iter().enumerate() {
        objeto(
            &mut out,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                num(ANCHO),
                num(ALTO),
                6 + 2 * i
            )
            .as_bytes(),
        );
        let mut s = format!("<< /Length {} >>\nstream\n", contenido.len()).into_bytes();
        s.extend_from_slice(contenido);
        s.extend_from_slice(b"\nendstream");
        objeto(&mut out, &s);
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dinero_es_co_sin_decimales() {
        for (v, esperado) in [
            (0.0, "$\u{a0}0"),
            (999.0, "$\u{a0}999"),
            (1000.0, "$\u{a0}1.000"),
            (150000.0, "$\u{a0}150.000"),
            (12345678.0, "$\u{a0}12.345.678"),
            (9999.5, "$\u{a0}10.000"),
            (0.49, "$\u{a0}0"),
            (0.5, "$\u{a0}1"),
            (1234.5, "$\u{a0}1.235"),
        ] {
            assert_eq!(dinero(v), esperado, "{v}");
        }
    }

    #[test]
    fn truncar_en_unidades_utf16_sin_partir_pares() {
        let a45 = "a".repeat(45);
        assert_eq!(truncar(&a45), a45);
        assert_eq!(truncar(&"a".repeat(46)), format!("{}...", "a".repeat(42)));
        // 41 ASCII + an emoji (2 units) = 43 units at the cut: the pair is left out whole.
        let t = format!("{}😀{}", "a".repeat(41), "b".repeat(10));
        assert_eq!(truncar(&t), format!("{}...", "a".repeat(41)));
        let t = format!("{}😀{}", "a".repeat(40), "b".repeat(10));
        assert_eq!(truncar(&t), format!("{}😀...", "a".repeat(40)));
        // 45 units exactly with accents (one unit each): untouched.
        let t = "é".repeat(45);
        assert_eq!(truncar(&t), t);
    }

    #[test]
    fn winansi_y_escapes() {
        assert_eq!(
            literal("Ítems (1) \\ €"),
            b"\xcdtems \\(1\\) \\\\ \x80".to_vec()
        );
        assert_eq!(literal("日本😀\n"), b"????".to_vec());
        assert_eq!(literal("$\u{a0}1"), b"$\xa01".to_vec());
    }

    #[test]
    fn numeros_de_coordenadas() {
        assert_eq!(num(791.89), "791.89");
        assert_eq!(num(791.89 - 26.0), "765.89");
        assert_eq!(num(50.0), "50");
        assert_eq!(num(0.4), "0.4");
        assert_eq!(num(0.0), "0");
    }
}

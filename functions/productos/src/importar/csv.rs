//! CSV reading of catalog.md §6.2, line by line as the reference does — deliberately not
//! RFC 4180: the comma is the only delimiter, quoted fields never span lines, blank lines are
//! dropped (which shifts `linea`), and a whole-row quoting heuristic is applied, with its
//! Required narrowing.

use shared::js::recortar;

use super::Hoja;

/// Headers (lower-cased) and data rows; `None` when no non-blank line exists.
pub fn leer(texto: &str) -> Option<Hoja> {
    let texto = texto.strip_prefix('\u{feff}').unwrap_or(texto);
    let mut lineas = texto
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !recortar(l).is_empty());
    let encabezados: Vec<String> = dividir(lineas.next()?)
        .into_iter()
        .map(|h| h.to_lowercase())
        .collect();
    let filas = lineas
        .map(|l| {
            let campos = dividir(l);
            if campos.len() == 1
                && encabezados.len() >= 2
                && let Some(desenvuelta) = desenvolver(l)
            {
                return dividir(&desenvuelta);
            }
            campos
        })
        .collect();
    Some(Hoja { encabezados, filas })
}

/// The reference's unwrap of rows quoted as a whole (`"a,b,""c"""`): ≥ 4 chars, starts and ends
/// with `"`, contains `""`. Required: only applied when normal splitting gave a single field
/// while the header has several columns (checked by the caller), so ordinary rows whose first
/// and last fields are quoted keep their fields.
fn desenvolver(l: &str) -> Option<String> {
    (l.chars().count() >= 4 && l.starts_with('"') && l.ends_with('"') && l.contains("\"\""))
        .then(|| l[1..l.len() - 1].replace("\"\"", "\""))
}

/// Field splitting of §6.2 step 3.
fn dividir(linea: &str) -> Vec<String> {
    let mut campos = Vec::new();
    let mut actual = String::new();
    let mut comillas = false;
    let mut chars = linea.chars().peekable();
    while let Some(c) = chars.next() {
        if comillas {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    actual.push('"');
                } else {
                    comillas = false;
                }
            } else {
                actual.push(c);
            }
        } else if c == ',' {
            campos.push(limpiar(&actual));
            actual.clear();
        } else if c == '"' && actual.is_empty() {
            comillas = true;
        } else {
            actual.push(c);
        }
    }
    campos.push(limpiar(&actual));
    campos
}

/// Trim; a field still wrapped in quotes (`␠"Producto X"␠`) loses them, `""` → `"`, trimmed again.
fn limpiar(campo: &str) -> String {
    let t = recortar(campo);
    if t.chars().count() >= 2 && t.starts_with('"') && t.ends_with('"') {
        recortar(&t[1..t.len() - 1].replace("\"\"", "\"")).to_string()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn division_de_campos() {
        assert_eq!(dividir(r#"a,"b,c",d"#), v(&["a", "b,c", "d"]));
        assert_eq!(dividir(r#""Say ""hi""",x"#), v(&[r#"Say "hi""#, "x"]));
        assert_eq!(dividir(r#""x"y,z"#), v(&["xy", "z"]));
        assert_eq!(dividir(r#" "Producto X" ,2"#), v(&["Producto X", "2"]));
        assert_eq!(dividir(r#"a"b,c"#), v(&[r#"a"b"#, "c"]));
        assert_eq!(dividir(""), v(&[""]));
        assert_eq!(dividir("a,,"), v(&["a", "", ""]));
        assert_eq!(dividir(r#"""#), v(&[""]));
        assert_eq!(dividir(r#""abc"#), v(&["abc"]));
    }

    #[test]
    fn bom_lineas_vacias_y_crlf() {
        let h = leer("\u{feff}Codigo,Nombre\r\n\r\n  \nA-1,Uno\r\rdos\n").unwrap();
        assert_eq!(h.encabezados, v(&["codigo", "nombre"]));
        assert_eq!(h.filas, vec![v(&["A-1", "Uno\r\rdos"])]);
        assert_eq!(leer("\u{feff}\n \r\n"), None);
        assert_eq!(leer("nombre").unwrap().filas.len(), 0);
    }

    #[test]
    fn filas_citadas_enteras_solo_si_quedan_en_un_campo() {
        let h = leer("nombre,precio,categoria\n\"Lápiz \"\"HB\"\",5000,Oficina\"\n\"A\",\"Say \"\"hi\"\"\",\"B\"").unwrap();
        assert_eq!(
            h.filas,
            vec![
                v(&[r#"Lápiz "HB""#, "5000", "Oficina"]),
                v(&["A", r#"Say "hi""#, "B"]),
            ]
        );
        // A one-column file never unwraps.
        let h = leer("nombre\n\"a \"\"b\"\"\"").unwrap();
        assert_eq!(h.filas, vec![v(&[r#"a "b""#])]);
    }
}

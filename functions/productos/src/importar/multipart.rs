//! A small synchronous `multipart/form-data` reader (RFC 7578 / RFC 2046 §5.1) over the
//! in-memory body: Lambda hands the whole (base64-decoded) body at once, so a streaming parser
//! buys nothing. Delimiters are `--boundary` at the start of the body or of a line; CRLF is the
//! line break, a bare LF is tolerated.

use memchr::memmem;

/// One part: its `name`, its `filename` when it is a file, and its raw content.
#[derive(Debug, PartialEq)]
pub struct Parte<'a> {
    pub nombre: Option<String>,
    pub archivo: Option<String>,
    pub contenido: &'a [u8],
}

#[derive(Debug, PartialEq)]
pub struct Malformado;

/// The `boundary` parameter of a `Content-Type` (quoted or not).
pub fn frontera(tipo: &str) -> Option<String> {
    parametros(tipo)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

pub fn partes<'a>(cuerpo: &'a [u8], frontera: &str) -> Result<Vec<Parte<'a>>, Malformado> {
    let delimitador = format!("--{frontera}");
    let delimitador = delimitador.as_bytes();
    let con_salto = [b"\n".as_slice(), delimitador].concat();
    let buscador = memmem::Finder::new(&con_salto);
    // The first delimiter: at the very start, or after a preamble line.
    let mut pos = if cuerpo.starts_with(delimitador) {
        delimitador.len()
    } else {
        buscador.find(cuerpo).ok_or(Malformado)? + con_salto.len()
    };
    let mut partes = Vec::new();
    loop {
        let resto = &cuerpo[pos..];
        if resto.starts_with(b"--") {
            return Ok(partes);
        }
        // Transport padding, then the line break that ends the delimiter line.
        let blancos = resto
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        pos += blancos + salto(&cuerpo[pos + blancos..]).ok_or(Malformado)?;
        let (cabeceras, inicio) = leer_cabeceras(cuerpo, pos)?;
        let fin_rel = buscador.find(&cuerpo[inicio..]).ok_or(Malformado)?;
        let mut fin = inicio + fin_rel;
        pos = fin + con_salto.len();
        if fin > inicio && cuerpo[fin - 1] == b'\r' {
            fin -= 1;
        }
        let (nombre, archivo) = disposicion(&cabeceras);
        partes.push(Parte {
            nombre,
            archivo,
            contenido: &cuerpo[inicio..fin],
        });
    }
}

/// Length of the line break at the start of `b` (CRLF or LF).
fn salto(b: &[u8]) -> Option<usize> {
    if b.starts_with(b"\r\n") {
        Some(2)
    } else if b.starts_with(b"\n") {
        Some(1)
    } else {
        None
    }
}

/// Header lines from `pos` up to the blank line; returns them and where the content starts.
fn leer_cabeceras(
    cuerpo: &[u8],
    mut pos: usize,
) -> Result<(Vec<(String, String)>, usize), Malformado> {
    let mut cabeceras = Vec::new();
    loop {
        let resto = &cuerpo[pos..];
        if let Some(n) = salto(resto) {
            return Ok((cabeceras, pos + n));
        }
        let fin = memchr::memchr(b'\n', resto).ok_or(Malformado)?;
        let linea = &resto[..fin];
        let linea = linea.strip_suffix(b"\r").unwrap_or(linea);
        let linea = String::from_utf8_lossy(linea);
        let (k, v) = linea.split_once(':').ok_or(Malformado)?;
        cabeceras.push((k.trim().to_string(), v.trim().to_string()));
        pos += fin + 1;
    }
}

/// `name` and `filename` of the part's `Content-Disposition` (`filename*` wins when present).
fn disposicion(cabeceras: &[(String, String)]) -> (Option<String>, Option<String>) {
    let Some((_, valor)) = cabeceras
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-disposition"))
    else {
        return (None, None);
    };
    let params = parametros(valor);
    let buscar = |nombre: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(nombre))
            .map(|(_, v)| v.clone())
    };
    let extendido = buscar("filename*").and_then(|v| {
        // RFC 5987: charset'language'percent-encoded
        let codificado = v.splitn(3, '\'').nth(2)?;
        percent_encoding::percent_decode_str(codificado)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    });
    (buscar("name"), extendido.or_else(|| buscar("filename")))
}

/// `; key=value` parameters after the first token of a header value; quoted values may hold
/// `;` and backslash escapes.
fn parametros(valor: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = valor.chars().peekable();
    // Skip the leading token (`multipart/form-data`, `form-data`).
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let mut clave = String::new();
        let mut con_valor = false;
        for c in chars.by_ref() {
            if c == '=' || c == ';' {
                con_valor = c == '=';
                break;
            }
            clave.push(c);
        }
        let clave = clave.trim().to_string();
        if !con_valor {
            if !clave.is_empty() {
                out.push((clave, String::new()));
            }
            if chars.peek().is_none() {
                return out;
            }
            continue;
        }
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut v = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => break,
                    _ => v.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                v.push(c);
            }
            v = v.trim().to_string();
        }
        if !clave.is_empty() {
            out.push((clave, v));
        }
        if chars.peek().is_none() {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontera_con_y_sin_comillas() {
        assert_eq!(
            frontera("multipart/form-data; boundary=----WebKitFormBoundaryX1").as_deref(),
            Some("----WebKitFormBoundaryX1")
        );
        assert_eq!(
            frontera("multipart/form-data; charset=utf-8; BOUNDARY=\"a b;c\"").as_deref(),
            Some("a b;c")
        );
        assert_eq!(frontera("multipart/form-data"), None);
        assert_eq!(frontera("multipart/form-data; boundary="), None);
    }

    #[test]
    fn partes_con_crlf_preambulo_y_epilogo() {
        let cuerpo = b"preambulo\r\n--XyZ\r\nContent-Disposition: form-data; name=\"otro\"\r\n\r\nvalor\r\n--XyZ  \r\ncontent-disposition: form-data; name=\"archivo\"; filename=\"P.CSV\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n\r\n--XyZ--\r\nepilogo";
        let p = partes(cuerpo, "XyZ").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].nombre.as_deref(), Some("otro"));
        assert_eq!(p[0].archivo, None);
        assert_eq!(p[0].contenido, b"valor");
        assert_eq!(p[1].nombre.as_deref(), Some("archivo"));
        assert_eq!(p[1].archivo.as_deref(), Some("P.CSV"));
        assert_eq!(p[1].contenido, b"a,b\r\n1,2\r\n");
    }

    #[test]
    fn saltos_lf_y_nombres_extendidos() {
        let cuerpo = b"--b\nContent-Disposition: form-data; name=archivo; filename=\"x.csv\"; filename*=UTF-8''lista%20%C3%B1.xlsx\n\n\x00\xff\n--b--";
        let p = partes(cuerpo, "b").unwrap();
        assert_eq!(p[0].archivo.as_deref(), Some("lista ñ.xlsx"));
        assert_eq!(p[0].contenido, b"\x00\xff");
    }

    #[test]
    fn cuerpos_malformados() {
        assert_eq!(partes(b"sin delimitador", "b"), Err(Malformado));
        assert_eq!(
            partes(
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nsin fin",
                "b"
            ),
            Err(Malformado)
        );
        assert_eq!(partes(b"--bX\r\n\r\n", "b"), Err(Malformado));
        assert_eq!(partes(b"--b--", "b"), Ok(vec![]));
    }
}

//! Method + path → route of one function (platform.md §1.2): static segments win over `{id}`,
//! one trailing slash is stripped, an implemented path with another method is a JSON 405 with
//! `Allow`, anything else a JSON 404.

use http::Method;

use crate::plataforma::error::{Error, RUTA_NO_ENCONTRADA};

/// One route of a function's table.
#[derive(Debug)]
pub struct Ruta<R: 'static> {
    pub metodo: Method,
    /// e.g. `/api/categorias/{id}`
    pub patron: &'static str,
    pub id: R,
    /// The endpoint's generic message for 500s and for malformed bodies (platform.md §6).
    pub error_generico: &'static str,
}

/// Strips one trailing slash (never the root).
pub fn normalizar(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

/// Per-segment specificity: a static segment beats a parameter at the first difference.
fn coincide<'p>(patron: &str, path: &'p str) -> Option<(Vec<bool>, Option<&'p str>)> {
    let mut a = patron.split('/');
    let mut b = path.split('/');
    let mut forma = Vec::new();
    let mut param = None;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Some((forma, param)),
            (Some(p), Some(s)) if p.starts_with('{') => {
                if s.is_empty() {
                    return None;
                }
                param = Some(s);
                forma.push(false);
            }
            (Some(p), Some(s)) if p == s => forma.push(true),
            _ => return None,
        }
    }
}

/// The matched route and its `{id}` segment, or 404/405.
pub fn resolver<'t, 'p, R>(
    tabla: &'t [Ruta<R>],
    metodo: &Method,
    path: &'p str,
) -> Result<(&'t Ruta<R>, Option<&'p str>), Error> {
    let path = normalizar(path);
    let mut mejor: Option<(Vec<bool>, &'static str)> = None;
    for r in tabla {
        if let Some((forma, _)) = coincide(r.patron, path)
            && mejor.as_ref().is_none_or(|(f, _)| forma > *f)
        {
            mejor = Some((forma, r.patron));
        }
    }
    let Some((_, patron)) = mejor else {
        return Err(Error::not_found(RUTA_NO_ENCONTRADA));
    };
    let candidatas = tabla.iter().filter(|r| r.patron == patron);
    let mut allow: Vec<&str> = Vec::new();
    for r in candidatas {
        if r.metodo == *metodo {
            let param = coincide(r.patron, path).and_then(|(_, p)| p);
            return Ok((r, param));
        }
        allow.push(r.metodo.as_str());
    }
    Err(Error::MethodNotAllowed {
        allow: allow.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &[Ruta<u8>] = &[
        Ruta {
            metodo: Method::GET,
            patron: "/api/categorias",
            id: 1,
            error_generico: "",
        },
        Ruta {
            metodo: Method::POST,
            patron: "/api/categorias",
            id: 2,
            error_generico: "",
        },
        Ruta {
            metodo: Method::PUT,
            patron: "/api/categorias/{id}",
            id: 3,
            error_generico: "",
        },
        Ruta {
            metodo: Method::DELETE,
            patron: "/api/categorias/{id}",
            id: 4,
            error_generico: "",
        },
        Ruta {
            metodo: Method::POST,
            patron: "/api/categorias/bulk-delete",
            id: 5,
            error_generico: "",
        },
    ];

    #[test]
    fn estaticas_antes_que_id_y_405_con_allow() {
        let (r, p) = resolver(T, &Method::POST, "/api/categorias/bulk-delete").unwrap();
        assert_eq!((r.id, p), (5, None));
        let (r, p) = resolver(T, &Method::PUT, "/api/categorias/7/").unwrap();
        assert_eq!((r.id, p), (3, Some("7")));
        match resolver(T, &Method::PUT, "/api/categorias/bulk-delete") {
            Err(Error::MethodNotAllowed { allow }) => assert_eq!(allow, "POST"),
            other => panic!("{other:?}"),
        }
        match resolver(T, &Method::PATCH, "/api/categorias") {
            Err(Error::MethodNotAllowed { allow }) => assert_eq!(allow, "GET, POST"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolver(T, &Method::GET, "/api/categorias/1/x"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            resolver(T, &Method::GET, "/api/otra"),
            Err(Error::NotFound(_))
        ));
    }
}

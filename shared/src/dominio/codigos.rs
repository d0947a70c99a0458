//! Code algorithms of catalog.md §3 shared by categorías and productos (and the import).

use unicode_normalization::UnicodeNormalization;

/// `norm(s)` of §3.1: NFD, drop combining marks U+0300–U+036F, full uppercase, keep `A–Z0–9`.
pub fn normalizar(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{0300}'..='\u{036f}').contains(c))
        .collect::<String>()
        .to_uppercase()
        .chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .collect()
}

/// `^[A-Z0-9]{2,8}$`
pub fn prefijo_valido(p: &str) -> bool {
    (2..=8).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Prefix suggestion of §3.1 with its Required fix: the base is `CAT` when shorter than 2,
/// and candidates longer than 8 are skipped, so the result is always 2–8 characters.
pub fn sugerir_prefijo(nombre: &str, usado: impl Fn(&str) -> bool) -> String {
    let mut base = normalizar(nombre);
    if base.len() < 2 {
        base = "CAT".into();
    }
    let tres = &base[..base.len().min(3)];
    let mut c = tres.to_string();
    let mut k = 0usize;
    while usado(&c) || c.len() > 8 {
        k += 1;
        c = if 3 + k <= base.len() {
            base[..3 + k].to_string()
        } else {
            format!("{tres}{k}")
        };
        if k > 1000 {
            break;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sugerir(nombre: &str, usados: &[&str]) -> String {
        sugerir_prefijo(nombre, |c| usados.contains(&c))
    }

    #[test]
    fn tabla_de_catalog_3_1() {
        assert_eq!(sugerir("Sin clasificar", &[]), "SIN");
        assert_eq!(sugerir("Sin clasificar", &["SIN"]), "SINC");
        assert_eq!(
            sugerir("Bebidas", &["BEB", "BEBI", "BEBID", "BEBIDA", "BEBIDAS"]),
            "BEB5"
        );
        assert_eq!(sugerir("Ñandú", &[]), "NAN");
        assert_eq!(sugerir("Straße", &[]), "STR");
        // Required: never 1 character, never more than 8.
        assert_eq!(sugerir("A", &[]), "CAT");
        assert_eq!(sugerir("¡!", &[]), "CAT");
        let usados: Vec<String> = (3..=8).map(|n| "ABCDEFGHIJKL"[..n].to_string()).collect();
        let r = sugerir_prefijo("abcdefghijkl", |c| usados.iter().any(|u| u == c));
        assert_eq!(r, "ABC10");
    }

    #[test]
    fn formato_de_prefijo() {
        assert!(prefijo_valido("BE"));
        assert!(prefijo_valido("OF01"));
        assert!(!prefijo_valido("B"));
        assert!(!prefijo_valido("ABCDEFGHI"));
        assert!(!prefijo_valido("Ñ1"));
        assert!(!prefijo_valido("A B"));
    }
}

/// `{prefijo}-{N}` with at least 3 digits (catalog.md §3.2, docs: `BEB-001`).
pub fn formatear_codigo(prefijo: &str, n: u128) -> String {
    format!("{prefijo}-{n:03}")
}

/// Serialises category creation of one empresa until the transaction ends (POST
/// /api/categorias and the import), so a suggested prefix is never taken between reading the
/// used prefixes and inserting; the unique indexes stay the real check.
pub async fn bloquear_prefijos(
    tx: &impl crate::plataforma::db::Consulta,
    empresa: &crate::plataforma::EmpresaId,
) -> Result<(), crate::plataforma::Error> {
    tx.consulta(
        "SELECT pg_advisory_xact_lock(hashtextextended('categoria:' || $1, 0))",
        &[(&empresa.as_str(), crate::plataforma::db::Type::TEXT)],
    )
    .await?;
    Ok(())
}

/// Serialises automatic numbering of one (empresa, categoría) until the transaction ends, so
/// concurrent auto-coded creations get distinct codes.
pub async fn bloquear_numeracion(
    tx: &impl crate::plataforma::db::Consulta,
    empresa: &crate::plataforma::EmpresaId,
    categoria_id: i32,
) -> Result<(), crate::plataforma::Error> {
    tx.consulta(
        "SELECT pg_advisory_xact_lock(hashtextextended('codigo:' || $1 || ':' || $2::text, 0))",
        &[
            (&empresa.as_str(), crate::plataforma::db::Type::TEXT),
            (&categoria_id, crate::plataforma::db::Type::INT4),
        ],
    )
    .await?;
    Ok(())
}

/// Next free code of a category (§3.2): the largest number matched by `{prefijo}-([0-9]+)`
/// anywhere in the category's codes, plus one, skipping codes already used anywhere in the
/// empresa. Computed in `numeric`/`u128`: never overflows into an error. Call it inside the
/// transaction after [`bloquear_numeracion`] when the code is going to be inserted.
pub async fn siguiente_codigo(
    tx: &impl crate::plataforma::db::Consulta,
    empresa: &crate::plataforma::EmpresaId,
    categoria_id: i32,
    prefijo: &str,
) -> Result<String, crate::plataforma::Error> {
    use crate::plataforma::db::Type;
    let patron = format!("{prefijo}-([0-9]+)");
    let fila = tx
        .consulta(
            r#"SELECT max((substring("codigo" from $3))::numeric)::text
               FROM "Producto" WHERE "empresaId" = $1 AND "categoriaId" = $2"#,
            &[
                (&empresa.as_str(), Type::TEXT),
                (&categoria_id, Type::INT4),
                (&patron, Type::TEXT),
            ],
        )
        .await?;
    let max: Option<String> = fila.first().and_then(|f| f.get(0));
    let mut n = max
        .and_then(|m| m.parse::<u128>().ok())
        .unwrap_or(0)
        .saturating_add(1);
    loop {
        let candidato = formatear_codigo(prefijo, n);
        let usado = tx
            .consulta(
                r#"SELECT 1 FROM "Producto" WHERE "empresaId" = $1 AND "codigo" = $2"#,
                &[(&empresa.as_str(), Type::TEXT), (&candidato, Type::TEXT)],
            )
            .await?;
        if usado.is_empty() {
            return Ok(candidato);
        }
        n = n.saturating_add(1);
    }
}

#[cfg(test)]
mod tests_codigo {
    #[test]
    fn relleno_minimo_de_tres() {
        assert_eq!(super::formatear_codigo("BEB", 1), "BEB-001");
        assert_eq!(super::formatear_codigo("BEB", 42), "BEB-042");
        assert_eq!(super::formatear_codigo("BEB", 1000), "BEB-1000");
    }
}

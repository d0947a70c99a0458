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

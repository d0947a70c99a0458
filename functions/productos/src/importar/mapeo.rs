//! Column mapping of catalog.md §6.4: each canonical field takes the first free header whose
//! normalised form is one of its aliases; a header string is taken at most once.

use unicode_normalization::UnicodeNormalization;

/// Canonical fields in table order, with their (already normalised) aliases.
pub const CAMPOS: [(&str, &[&str]); 7] = [
    (
        "codigo",
        &[
            "codigo",
            "cod",
            "sku",
            "referencia",
            "ref",
            "idproducto",
            "codigoproducto",
            "codigobarra",
            "codigobarras",
        ],
    ),
    (
        "nombre",
        &[
            "nombre",
            "producto",
            "nombreproducto",
            "descripcionproducto",
            "item",
            "articulo",
        ],
    ),
    (
        "descripcion",
        &[
            "descripcion",
            "observacion",
            "observaciones",
            "detalle",
            "detalles",
            "notas",
        ],
    ),
    (
        "precio",
        &[
            "precio",
            "precioventa",
            "preciounitario",
            "valor",
            "valorunitario",
            "valorventa",
            "pvp",
        ],
    ),
    (
        "cantidad",
        &[
            "cantidad",
            "stock",
            "existencia",
            "existencias",
            "cantidadinicial",
            "stockinicial",
            "unidades",
            "inventario",
        ],
    ),
    (
        "stockMinimo",
        &[
            "stockminimo",
            "minimo",
            "alerta",
            "umbral",
            "cantidadminima",
            "minimoinventario",
        ],
    ),
    (
        "categoria",
        &["categoria", "cat", "tipo", "grupo", "familia", "rubro"],
    ),
];

/// Index of each canonical field in [`CAMPOS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Campo {
    Codigo = 0,
    Nombre = 1,
    Descripcion = 2,
    Precio = 3,
    Cantidad = 4,
    StockMinimo = 5,
    Categoria = 6,
}

#[derive(Debug, PartialEq)]
pub struct Mapeo {
    /// Per canonical field: the header taken and the column its values come from (the last
    /// column carrying that header string: a repeated header keeps the last value).
    campos: [Option<(String, usize)>; 7],
    /// Non-blank headers not taken, in file order.
    pub ignoradas: Vec<String>,
}

impl Mapeo {
    pub fn de(encabezados: &[String]) -> Self {
        let normalizados: Vec<String> = encabezados.iter().map(|h| normalizar(h)).collect();
        let mut tomados: Vec<&str> = Vec::new();
        let mut campos: [Option<(String, usize)>; 7] = Default::default();
        for (i, (_, alias)) in CAMPOS.iter().enumerate() {
            let elegido = encabezados
                .iter()
                .zip(&normalizados)
                .find(|(h, n)| !tomados.contains(&h.as_str()) && alias.contains(&n.as_str()));
            if let Some((h, _)) = elegido {
                tomados.push(h);
                let columna = encabezados.iter().rposition(|x| x == h).expect("present");
                campos[i] = Some((h.clone(), columna));
            }
        }
        let ignoradas = encabezados
            .iter()
            .filter(|h| !shared::js::recortar(h).is_empty() && !tomados.contains(&h.as_str()))
            .cloned()
            .collect();
        Self { campos, ignoradas }
    }

    /// `(canonical, header)` of the fields found, in table order.
    pub fn encontrados(&self) -> impl Iterator<Item = (&'static str, &str)> {
        CAMPOS
            .iter()
            .zip(&self.campos)
            .filter_map(|((c, _), m)| m.as_ref().map(|(h, _)| (*c, h.as_str())))
    }

    /// The required fields (`nombre`, `precio`) that no header maps.
    pub fn faltantes(&self) -> Vec<&'static str> {
        [Campo::Nombre, Campo::Precio]
            .into_iter()
            .filter(|c| self.campos[*c as usize].is_none())
            .map(|c| CAMPOS[c as usize].0)
            .collect()
    }

    /// A row's value of `campo`, trimmed; unmapped or missing cells are `""`.
    pub fn valor<'f>(&self, fila: &'f [String], campo: Campo) -> &'f str {
        self.campos[campo as usize]
            .as_ref()
            .and_then(|(_, i)| fila.get(*i))
            .map_or("", |v| shared::js::recortar(v))
    }
}

/// `normHeader(h)`: NFD, drop U+0300–U+036F, lower-case, delete every `_`, whitespace, `-`,
/// `.` and `/`, trim.
pub fn normalizar(h: &str) -> String {
    let plano: String = h
        .nfd()
        .filter(|c| !('\u{0300}'..='\u{036f}').contains(c))
        .collect::<String>()
        .to_lowercase();
    let sin_separadores: String = plano
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | '/') && !shared::js::es_espacio_js(*c))
        .collect();
    shared::js::recortar(&sin_separadores).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn normaliza_encabezados() {
        assert_eq!(normalizar("Stock Mínimo"), "stockminimo");
        assert_eq!(normalizar("  Precio   Venta "), "precioventa");
        assert_eq!(normalizar("Código_de-barras./"), "codigodebarras");
        assert_eq!(normalizar("ARTÍCULO"), "articulo");
    }

    #[test]
    fn primer_encabezado_libre_por_campo() {
        let m = Mapeo::de(&enc(&[
            "SKU",
            "Producto",
            "Nombre",
            "Precio Venta",
            "Stock",
            "Mínimo",
            "Grupo",
            "Color",
            "",
        ]));
        let encontrados: Vec<(&str, &str)> = m.encontrados().collect();
        assert_eq!(
            encontrados,
            vec![
                ("codigo", "SKU"),
                ("nombre", "Producto"),
                ("precio", "Precio Venta"),
                ("cantidad", "Stock"),
                ("stockMinimo", "Mínimo"),
                ("categoria", "Grupo"),
            ]
        );
        assert_eq!(m.ignoradas, enc(&["Nombre", "Color"]));
        assert!(m.faltantes().is_empty());
    }

    #[test]
    fn encabezado_repetido_usa_la_ultima_columna() {
        let m = Mapeo::de(&enc(&["nombre", "precio", "nombre"]));
        let fila = enc(&["a", "1", " b "]);
        assert_eq!(m.valor(&fila, Campo::Nombre), "b");
        assert_eq!(m.valor(&fila, Campo::Codigo), "");
        assert_eq!(m.valor(&enc(&["a"]), Campo::Precio), "");
        assert!(m.ignoradas.is_empty());
    }

    #[test]
    fn faltantes_en_orden() {
        let m = Mapeo::de(&enc(&["codigo;nombre;precio"]));
        assert_eq!(m.faltantes(), vec!["nombre", "precio"]);
        assert_eq!(m.ignoradas, enc(&["codigo;nombre;precio"]));
        let m = Mapeo::de(&enc(&["articulo", "costo"]));
        assert_eq!(m.faltantes(), vec!["precio"]);
    }
}

//! Audit rows (platform.md §8). Two timings: [`registrar`] after the commit, best-effort (most
//! writes), and [`registrar_en`] inside the business transaction for the few rows §8.3 marks
//! "in tx" (manual movements, purchase-order receipt), whose failure rolls the operation back.

use crate::plataforma::db::Consulta;
use serde_json::Value;

use crate::plataforma::Estado;
use crate::plataforma::db::Type;
use crate::plataforma::sesion::Ctx;

pub struct Evento<'a> {
    pub accion: &'static str,
    pub entidad: &'static str,
    pub entidad_id: Option<String>,
    pub datos: Option<Value>,
    /// The endpoint's fallback literal when no client address is known (§8.3: `null`,
    /// `127.0.0.1` or `''`).
    pub ip_defecto: Option<&'a str>,
}

impl<'a> Evento<'a> {
    /// A row of `accion` on `entidad` (`entidad_id` when it concerns one row) with `datos`, and
    /// no fallback address (`null` without a client address).
    pub fn nuevo(
        accion: &'static str,
        entidad: &'static str,
        entidad_id: Option<String>,
        datos: Value,
    ) -> Self {
        Self {
            accion,
            entidad,
            entidad_id,
            datos: Some(datos),
            ip_defecto: None,
        }
    }
}

pub async fn registrar_en(
    c: &impl Consulta,
    ctx: &Ctx,
    ev: &Evento<'_>,
) -> Result<(), tokio_postgres::Error> {
    let ip = ctx.ip.as_deref().or(ev.ip_defecto);
    let datos = ev.datos.as_ref().map(tokio_postgres::types::Json);
    c.consulta(
        r#"INSERT INTO "Auditoria" ("usuarioId", "empresaId", "accion", "entidad", "entidadId", "datos", "ip", "creadoEn")
           VALUES ($1, $2, $3, $4, $5, $6, $7, now() AT TIME ZONE 'UTC') RETURNING "id""#,
        &[
            (&ctx.usuario.id, Type::TEXT),
            (&ctx.empresa.as_str(), Type::TEXT),
            (&ev.accion, Type::TEXT),
            (&ev.entidad, Type::TEXT),
            (&ev.entidad_id, Type::TEXT),
            (&datos, Type::JSONB),
            (&ip, Type::TEXT),
        ],
    )
    .await?;
    Ok(())
}

/// After the commit: logs a failure and never changes the response.
pub async fn registrar(estado: &Estado, ctx: &Ctx, ev: Evento<'_>) {
    let r = match estado.pool.get().await {
        Ok(c) => registrar_en(&**c, ctx, &ev)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = r {
        tracing::warn!(
            error.message = %e,
            accion = ev.accion,
            entidad = ev.entidad,
            "auditoría no registrada"
        );
    }
}

/// Many rows of one request after the commit, in one statement per 1,000 rows (the import
/// writes one per created category and product, platform.md §8.3); best-effort like
/// [`registrar`], rows keep the order of `eventos`.
pub async fn registrar_varios(estado: &Estado, ctx: &Ctx, eventos: &[Evento<'_>]) {
    if eventos.is_empty() {
        return;
    }
    let r: anyhow::Result<()> = async {
        let c = estado.pool.get().await?;
        for lote in eventos.chunks(1000) {
            let acciones: Vec<&str> = lote.iter().map(|e| e.accion).collect();
            let entidades: Vec<&str> = lote.iter().map(|e| e.entidad).collect();
            let ids: Vec<Option<&str>> = lote.iter().map(|e| e.entidad_id.as_deref()).collect();
            let datos: Vec<Option<tokio_postgres::types::Json<&Value>>> = lote
                .iter()
                .map(|e| e.datos.as_ref().map(tokio_postgres::types::Json))
                .collect();
            let ips: Vec<Option<&str>> = lote
                .iter()
                .map(|e| ctx.ip.as_deref().or(e.ip_defecto))
                .collect();
            c.consulta(
                r#"INSERT INTO "Auditoria" ("usuarioId", "empresaId", "accion", "entidad", "entidadId", "datos", "ip", "creadoEn")
                   SELECT $1, $2, t.a, t.e, t.i, t.d, t.ip, now() AT TIME ZONE 'UTC'
                   FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[])
                        WITH ORDINALITY AS t(a, e, i, d, ip, n)
                   ORDER BY t.n"#,
                &[
                    (&ctx.usuario.id, Type::TEXT),
                    (&ctx.empresa.as_str(), Type::TEXT),
                    (&acciones, Type::TEXT_ARRAY),
                    (&entidades, Type::TEXT_ARRAY),
                    (&ids, Type::TEXT_ARRAY),
                    (&datos, Type::JSONB_ARRAY),
                    (&ips, Type::TEXT_ARRAY),
                ],
            )
            .await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = r {
        tracing::warn!(
            error.message = %e,
            filas = eventos.len(),
            "auditoría no registrada"
        );
    }
}

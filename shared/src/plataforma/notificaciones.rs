//! Notification rows (platform.md §9). Always written after the triggering commit and
//! best-effort: a failure is logged, never turned into an error response. Writers take plain
//! values (tenant id, the user's fields), never a session, so identity linking can call them.

use crate::plataforma::db::Consulta;
use crate::plataforma::db::Type;

/// `USUARIO_REGISTRADO` for the pending user `usuario_id` of `empresa`: one row per active
/// admin of the tenant (§9.2).
pub async fn usuario_registrado(
    c: &impl Consulta,
    empresa: &str,
    usuario_id: &str,
    email: &str,
    nombre: &str,
) {
    let titulo = format!("Usuario pendiente de aprobación: {email}");
    let mensaje = format!("{nombre} completó su registro y espera aprobación.");
    let link = format!("/admin/usuarios/{usuario_id}");
    let r = c
        .consulta(
            r#"INSERT INTO "Notificacion" ("tipo", "titulo", "mensaje", "link", "usuarioId", "empresaId", "creadoEn")
               SELECT 'USUARIO_REGISTRADO', $1, $2, $3, a."id", a."empresaId", now() AT TIME ZONE 'UTC'
               FROM "Usuario" a
               WHERE a."empresaId" = $4 AND a."estado" = 'ACTIVO' AND a."rol" IN ('ADMIN', 'SUPER_ADMIN')
               RETURNING "id""#,
            &[
                (&titulo, Type::TEXT),
                (&mensaje, Type::TEXT),
                (&link, Type::TEXT),
                (&empresa, Type::TEXT),
            ],
        )
        .await;
    if let Err(e) = r {
        tracing::warn!(error.message = %e, tipo = "USUARIO_REGISTRADO", "notificación no registrada");
    }
}

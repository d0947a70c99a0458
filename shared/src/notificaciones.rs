//! Notification rows (platform.md §9). Always written after the triggering commit and
//! best-effort: a failure is logged, never turned into an error response.

use crate::db::Consulta;

use crate::db::Type;
use crate::sesion::Usuario;

/// `USUARIO_REGISTRADO`: one row per active admin of the tenant (§9.2).
pub async fn usuario_registrado(c: &impl Consulta, u: &Usuario) {
    let Some(empresa) = u.empresa_id.as_deref() else {
        return;
    };
    let titulo = format!("Usuario pendiente de aprobación: {}", u.email);
    let mensaje = format!("{} completó su registro y espera aprobación.", u.nombre);
    let link = format!("/admin/usuarios/{}", u.id);
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

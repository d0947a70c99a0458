//! From a Neon identity to a `"Usuario"` (platform.md §2.2 steps 3–6), shared by session
//! resolution and the `user.created` webhook (§13.3).
//!
//! Provisioning runs in one transaction under a per-identity advisory lock, so concurrent first
//! requests (or a request racing the webhook) create exactly one tenant; a unique conflict that
//! still happens (an e-mail taken meanwhile) rolls back and re-reads.

use crate::plataforma::db::Consulta;

use crate::plataforma::config::Config;
use crate::plataforma::db::{self, Client, Type};
use crate::plataforma::error::Error;
use crate::plataforma::ids::cuid;
use crate::plataforma::notificaciones;
use crate::plataforma::usuario::{EstadoUsuario, Rol, Usuario};

/// The authenticated Neon Auth user behind a cookie or a webhook event.
#[derive(Clone, Debug)]
pub struct IdentidadNeon {
    pub neon_user_id: String,
    pub email: Option<String>,
    pub nombre: Option<String>,
    pub email_verificado: bool,
}

#[derive(Debug)]
pub enum Resultado {
    /// A row with this `neonAuthId` already existed.
    Existente(Usuario),
    /// A row found by e-mail was relinked to this identity (step 3).
    Revinculado(Usuario),
    /// A new `Empresa` + ADMIN `Usuario` (step 5).
    Creado(Usuario),
    /// No session user: unverified e-mail taken, no e-mail, allow-list, pending invitation.
    Denegado,
}

impl Resultado {
    pub fn usuario(self) -> Option<Usuario> {
        match self {
            Self::Existente(u) | Self::Revinculado(u) | Self::Creado(u) => Some(u),
            Self::Denegado => None,
        }
    }
}

pub async fn por_neon_id(
    c: &impl Consulta,
    neon_user_id: &str,
) -> Result<Option<Usuario>, tokio_postgres::Error> {
    let sql = format!(
        r#"SELECT {} FROM "Usuario" WHERE "neonAuthId" = $1"#,
        Usuario::COLUMNAS
    );
    let filas = c.consulta(&sql, &[(&neon_user_id, Type::TEXT)]).await?;
    filas.first().map(|f| Usuario::from_row(f, 0)).transpose()
}

/// Steps 3–5. Notifications of a relink are written after the commit, best-effort.
pub async fn vincular_o_provisionar(
    client: &mut Client,
    config: &Config,
    id: &IdentidadNeon,
) -> Result<Resultado, Error> {
    let mut intento = 0;
    loop {
        intento += 1;
        match provisionar_tx(client, config, id).await {
            Ok(r) => {
                if let Resultado::Revinculado(u) = &r
                    && u.estado == EstadoUsuario::Pendiente
                    && let Some(empresa) = u.empresa_id.as_deref()
                {
                    notificaciones::usuario_registrado(client, empresa, &u.id, &u.email, &u.nombre)
                        .await;
                }
                return Ok(r);
            }
            // A unique violation (e-mail taken by a concurrent insert): re-read once.
            Err(Error::Interno(e))
                if intento == 1
                    && crate::plataforma::error::sqlstate_of(&e)
                        == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
            {
                if let Some(u) = por_neon_id(&**client, &id.neon_user_id).await? {
                    return Ok(Resultado::Existente(u));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

async fn provisionar_tx(
    client: &mut Client,
    config: &Config,
    id: &IdentidadNeon,
) -> Result<Resultado, Error> {
    let tx = db::transaccion(client).await?;
    tx.consulta(
        "SELECT pg_advisory_xact_lock(hashtextextended('neon:' || $1, 0))",
        &[(&id.neon_user_id, Type::TEXT)],
    )
    .await?;
    if let Some(u) = por_neon_id(&tx, &id.neon_user_id).await? {
        tx.commit().await?;
        return Ok(Resultado::Existente(u));
    }
    let Some(email) = id.email.as_deref().map(|e| e.trim().to_lowercase()) else {
        return Ok(Resultado::Denegado);
    };
    // Step 3: relink by e-mail, case-insensitive, verified identities only.
    let sql = format!(
        r#"SELECT {} FROM "Usuario" WHERE lower("email") = $1 ORDER BY "creadoEn", "id" LIMIT 1 FOR UPDATE"#,
        Usuario::COLUMNAS
    );
    let filas = tx.consulta(&sql, &[(&email, Type::TEXT)]).await?;
    if let Some(f) = filas.first() {
        let u = Usuario::from_row(f, 0)?;
        if !id.email_verificado {
            return Ok(Resultado::Denegado);
        }
        tx.consulta(
            r#"UPDATE "Usuario" SET "neonAuthId" = $1 WHERE "id" = $2 RETURNING "id""#,
            &[(&id.neon_user_id, Type::TEXT), (&u.id, Type::TEXT)],
        )
        .await?;
        tx.commit().await?;
        return Ok(Resultado::Revinculado(u));
    }
    // Step 4: allow-list.
    if config.allowlist_registro.configurada()
        && !config.allowlist_registro.contiene(Some(&email))
        && !config.admin_emails.contiene(Some(&email))
    {
        return Ok(Resultado::Denegado);
    }
    // Step 5: invitees join the inviting tenant through /api/invitaciones/aceptar instead.
    let invitado = tx
        .consulta(
            r#"SELECT 1 FROM "Invitacion" WHERE lower("email") = $1 AND "estado" = 'PENDIENTE'
               AND "expiraEn" > (now() AT TIME ZONE 'UTC') LIMIT 1"#,
            &[(&email, Type::TEXT)],
        )
        .await?;
    if !invitado.is_empty() {
        return Ok(Resultado::Denegado);
    }
    let empresa_id = cuid();
    let usuario = Usuario {
        id: cuid(),
        email: email.clone(),
        nombre: id.nombre.clone().unwrap_or_else(|| email.clone()),
        rol: Rol::Admin,
        estado: EstadoUsuario::Activo,
        permisos: Vec::new(),
        empresa_id: Some(empresa_id.clone()),
    };
    let nombre_empresa = format!("Empresa de {email}");
    tx.consulta(
        r#"INSERT INTO "Empresa" ("id", "nombre", "creadoEn") VALUES ($1, $2, now() AT TIME ZONE 'UTC') RETURNING "id""#,
        &[(&empresa_id, Type::TEXT), (&nombre_empresa, Type::TEXT)],
    )
    .await?;
    tx.consulta(
        r#"INSERT INTO "Usuario" ("id", "neonAuthId", "email", "nombre", "estado", "rol", "permisos", "empresaId", "creadoEn")
           VALUES ($1, $2, $3, $4, 'ACTIVO', 'ADMIN', ARRAY[]::"Permiso"[], $5, now() AT TIME ZONE 'UTC') RETURNING "id""#,
        &[
            (&usuario.id, Type::TEXT),
            (&id.neon_user_id, Type::TEXT),
            (&usuario.email, Type::TEXT),
            (&usuario.nombre, Type::TEXT),
            (&empresa_id, Type::TEXT),
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(empresa_id = %empresa_id, usuario_id = %usuario.id, "empresa provisionada");
    Ok(Resultado::Creado(usuario))
}

/// Step 6: `ADMIN_EMAILS` promotion, by the Neon identity's **verified** e-mail only.
pub async fn promover_si_admin(
    c: &Client,
    config: &Config,
    id: &IdentidadNeon,
    mut u: Usuario,
) -> Result<Usuario, tokio_postgres::Error> {
    if id.email_verificado
        && config.admin_emails.contiene(id.email.as_deref())
        && (u.rol != Rol::SuperAdmin || u.estado != EstadoUsuario::Activo)
    {
        c.consulta(
            r#"UPDATE "Usuario" SET "rol" = 'SUPER_ADMIN', "estado" = 'ACTIVO' WHERE "id" = $1 RETURNING "id""#,
            &[(&u.id, Type::TEXT)],
        )
        .await?;
        tracing::info!(usuario_id = %u.id, "usuario promovido a SUPER_ADMIN");
        u.rol = Rol::SuperAdmin;
        u.estado = EstadoUsuario::Activo;
    }
    Ok(u)
}

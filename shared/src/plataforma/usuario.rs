//! The `"Usuario"` row as every function reads it (schema.md §4.3): role, state, permissions.
//! Below both session resolution and identity linking, so neither depends on the other for it.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rol {
    SuperAdmin,
    Admin,
    Usuario,
}

impl Rol {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SUPER_ADMIN" => Self::SuperAdmin,
            "ADMIN" => Self::Admin,
            "USUARIO" => Self::Usuario,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuperAdmin => "SUPER_ADMIN",
            Self::Admin => "ADMIN",
            Self::Usuario => "USUARIO",
        }
    }
    pub fn es_admin(self) -> bool {
        matches!(self, Self::SuperAdmin | Self::Admin)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EstadoUsuario {
    Pendiente,
    Activo,
    Suspendido,
}

impl EstadoUsuario {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDIENTE" => Self::Pendiente,
            "ACTIVO" => Self::Activo,
            "SUSPENDIDO" => Self::Suspendido,
            _ => return None,
        })
    }
}

/// `"Permiso"` labels (schema.md §3); all are accepted when reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permiso {
    VerAnalisis,
    ExportarReportes,
    RegistrarMovimientos,
    RealizarVentas,
    AgregarStock,
    DescontarStock,
}

impl Permiso {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "VER_ANALISIS" => Self::VerAnalisis,
            "EXPORTAR_REPORTES" => Self::ExportarReportes,
            "REGISTRAR_MOVIMIENTOS" => Self::RegistrarMovimientos,
            "REALIZAR_VENTAS" => Self::RealizarVentas,
            "AGREGAR_STOCK" => Self::AgregarStock,
            "DESCONTAR_STOCK" => Self::DescontarStock,
            _ => return None,
        })
    }
}

/// The `"Usuario"` row of the session user.
#[derive(Clone, Debug)]
pub struct Usuario {
    pub id: String,
    pub email: String,
    pub nombre: String,
    pub rol: Rol,
    pub estado: EstadoUsuario,
    pub permisos: Vec<Permiso>,
    pub empresa_id: Option<String>,
}

impl Usuario {
    /// Columns in the order [`Usuario::from_row`] reads them, starting at `base`.
    pub const COLUMNAS: &'static str =
        r#""id", "email", "nombre", "rol"::text, "estado"::text, "permisos"::text[], "empresaId""#;

    pub fn from_row(row: &tokio_postgres::Row, base: usize) -> Result<Self, tokio_postgres::Error> {
        let rol: String = row.try_get(base + 3)?;
        let estado: String = row.try_get(base + 4)?;
        let permisos: Option<Vec<String>> = row.try_get(base + 5)?;
        Ok(Self {
            id: row.try_get(base)?,
            email: row.try_get(base + 1)?,
            nombre: row.try_get(base + 2)?,
            // Unknown labels (a newer schema) fail closed: no admin power, not active.
            rol: Rol::parse(&rol).unwrap_or(Rol::Usuario),
            estado: EstadoUsuario::parse(&estado).unwrap_or(EstadoUsuario::Suspendido),
            permisos: permisos
                .unwrap_or_default()
                .iter()
                .filter_map(|p| Permiso::parse(p))
                .collect(),
            empresa_id: row.try_get(base + 6)?,
        })
    }
}

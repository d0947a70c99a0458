//! The one error type of the API and its JSON mapping (platform.md §6).
//! Every error body is `{"error": "<message>"}`; unexpected failures answer the
//! endpoint's generic message (declared on its route) and keep the cause for the log only.

use std::borrow::Cow;

use http::StatusCode;

pub type Msg = Cow<'static, str>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 with a specific message.
    #[error("{0}")]
    BadRequest(Msg),
    /// 400 with the endpoint's generic message: malformed JSON, wrong content type (§6.3).
    #[error("cuerpo de la petición inválido")]
    CuerpoInvalido,
    #[error("{0}")]
    Unauthorized(Msg),
    #[error("{0}")]
    Forbidden(Msg),
    /// 404, also for another empresa's row.
    #[error("{0}")]
    NotFound(Msg),
    #[error("Método no permitido")]
    MethodNotAllowed { allow: String },
    #[error("{0}")]
    Conflict(Msg),
    /// 413
    #[error("{0}")]
    PayloadTooLarge(Msg),
    #[error("{0}")]
    Unprocessable(Msg),
    #[error("Demasiados intentos de inicio de sesión. Espera {retry_after} segundos.")]
    TooManyRequests { retry_after: u64 },
    /// 500 with the endpoint's generic message; the cause goes to the log only.
    #[error("error interno: {0:#}")]
    Interno(#[source] anyhow::Error),
    /// 500 with a message of its own (e.g. a mailer failure, platform.md §13.4).
    #[error("{public}: {cause:#}")]
    InternoCon {
        public: Msg,
        #[source]
        cause: anyhow::Error,
    },
    /// 503 `Servicio no disponible` (infrastructure failure while resolving the session).
    #[error("servicio no disponible: {0:#}")]
    Unavailable(#[source] anyhow::Error),
    /// A documented body other than the envelope (catalog.md §6.5).
    #[error("respuesta {0}")]
    ConCuerpo(StatusCode, serde_json::Value),
}

pub const NO_AUTORIZADO: &str = "No autorizado";
pub const NO_AUTENTICADO: &str = "No autenticado";
pub const USUARIO_INACTIVO: &str = "Usuario inactivo o suspendido";
pub const SIN_EMPRESA: &str = "Usuario sin empresa asignada";
pub const ID_INVALIDO: &str = "ID inválido.";
pub const RUTA_NO_ENCONTRADA: &str = "Ruta no encontrada";
pub const METODO_NO_PERMITIDO: &str = "Método no permitido";
pub const SERVICIO_NO_DISPONIBLE: &str = "Servicio no disponible";
pub const ERROR_INTERNO: &str = "Error interno";

impl Error {
    pub fn bad_request(m: impl Into<Msg>) -> Self {
        Self::BadRequest(m.into())
    }
    pub fn not_found(m: impl Into<Msg>) -> Self {
        Self::NotFound(m.into())
    }
    pub fn conflict(m: impl Into<Msg>) -> Self {
        Self::Conflict(m.into())
    }
    pub fn forbidden(m: impl Into<Msg>) -> Self {
        Self::Forbidden(m.into())
    }
    pub fn unauthorized(m: impl Into<Msg>) -> Self {
        Self::Unauthorized(m.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::CuerpoInvalido => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Interno(_) | Self::InternoCon { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::ConCuerpo(s, _) => *s,
        }
    }

    /// The JSON body; `generico` is the endpoint's generic message.
    pub fn cuerpo(&self, generico: &str) -> serde_json::Value {
        let msg: Cow<'_, str> = match self {
            Self::ConCuerpo(_, v) => return v.clone(),
            Self::CuerpoInvalido | Self::Interno(_) => generico.into(),
            Self::InternoCon { public, .. } => public.as_ref().into(),
            Self::Unavailable(_) => SERVICIO_NO_DISPONIBLE.into(),
            Self::MethodNotAllowed { .. } => METODO_NO_PERMITIDO.into(),
            other => other.to_string().into(),
        };
        serde_json::json!({ "error": msg })
    }

    /// Whether the error is unexpected (logged at error level with its cause chain).
    pub fn es_inesperado(&self) -> bool {
        matches!(
            self,
            Self::Interno(_) | Self::InternoCon { .. } | Self::Unavailable(_)
        )
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Interno(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Interno(e.into())
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Self::Interno(e)
    }
}

/// Maps a database error by constraint name or SQLSTATE to a domain error (style.md §5).
pub trait ResultExt<T> {
    /// A unique/foreign-key/check violation on `constraint` becomes `f()`.
    fn on_constraint(self, constraint: &str, f: impl FnOnce() -> Error) -> Result<T, Error>;
    /// Any error with SQLSTATE `code` becomes `f()`.
    fn on_sqlstate(
        self,
        code: &tokio_postgres::error::SqlState,
        f: impl FnOnce() -> Error,
    ) -> Result<T, Error>;
}

impl<T> ResultExt<T> for Result<T, Error> {
    fn on_constraint(self, constraint: &str, f: impl FnOnce() -> Error) -> Result<T, Error> {
        match self {
            Err(Error::Interno(e)) if constraint_of(&e) == Some(constraint) => Err(f()),
            other => other,
        }
    }
    fn on_sqlstate(
        self,
        code: &tokio_postgres::error::SqlState,
        f: impl FnOnce() -> Error,
    ) -> Result<T, Error> {
        match self {
            Err(Error::Interno(e)) if sqlstate_of(&e) == Some(code) => Err(f()),
            other => other,
        }
    }
}

impl<T> ResultExt<T> for Result<T, tokio_postgres::Error> {
    fn on_constraint(self, constraint: &str, f: impl FnOnce() -> Error) -> Result<T, Error> {
        self.map_err(Error::from).on_constraint(constraint, f)
    }
    fn on_sqlstate(
        self,
        code: &tokio_postgres::error::SqlState,
        f: impl FnOnce() -> Error,
    ) -> Result<T, Error> {
        self.map_err(Error::from).on_sqlstate(code, f)
    }
}

fn db_error(e: &anyhow::Error) -> Option<&tokio_postgres::error::DbError> {
    e.chain()
        .find_map(|c| c.downcast_ref::<tokio_postgres::Error>())
        .and_then(|pg| pg.as_db_error())
}

/// The constraint named by a database error anywhere in the chain.
pub fn constraint_of(e: &anyhow::Error) -> Option<&str> {
    db_error(e).and_then(|d| d.constraint())
}

/// The SQLSTATE of a database error anywhere in the chain.
pub fn sqlstate_of(e: &anyhow::Error) -> Option<&tokio_postgres::error::SqlState> {
    db_error(e).map(|d| d.code())
}

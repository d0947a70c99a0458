//! Domain layer: calendario (Bogotá days, the millisecond clock), codigos (category prefixes,
//! product codes), dinero (exact money), escritura (the pipelined locked write of sales,
//! conversions and manual movements), proveedor (the supplier row), reposicion (consumption and
//! purchase suggestions), stock (lock order, availability, movements, stock alerts), ventas (the
//! sale writer and its JSON). May use `crate::plataforma`, never the other way round.

pub mod calendario;
pub mod codigos;
pub mod dinero;
pub mod escritura;
pub mod proveedor;
pub mod reposicion;
pub mod stock;
pub mod ventas;

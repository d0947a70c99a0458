//! One test binary, a module per resource (style.md §7).

mod categorias;
mod clientes;
mod compras;
mod corte;
mod cotizaciones;
mod escritura;
mod fallos;
mod importar;
mod movimientos;
mod productos;
mod propiedades;
mod rate_limit;
mod sesion;
mod tls;
mod ventas;
mod webhooks;

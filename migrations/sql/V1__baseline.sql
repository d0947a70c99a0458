-- Baseline: schema.md Appendix A, catalog-identical to the reference's schema.prisma.
-- Plain DDL with unqualified names: `migrate` runs it in "public" only on an empty database, and
-- in a scratch schema to obtain the expected catalog it compares a live database with
-- (migrations/src/estado.rs). Rust-only objects live in schema "inventario" (V2+).
CREATE TYPE "Rol" AS ENUM ('SUPER_ADMIN', 'ADMIN', 'USUARIO');
CREATE TYPE "Permiso" AS ENUM ('VER_ANALISIS', 'EXPORTAR_REPORTES', 'REGISTRAR_MOVIMIENTOS', 'REALIZAR_VENTAS', 'AGREGAR_STOCK', 'DESCONTAR_STOCK');
CREATE TYPE "EstadoUsuario" AS ENUM ('PENDIENTE', 'ACTIVO', 'SUSPENDIDO');
CREATE TYPE "EstadoInvitacion" AS ENUM ('PENDIENTE', 'ACEPTADA', 'EXPIRADA', 'CANCELADA');
CREATE TYPE "TipoNotificacion" AS ENUM ('STOCK_BAJO', 'STOCK_CRITICO', 'COTIZACION_POR_VENCER', 'PRODUCTO_SIN_MOVIMIENTO', 'INVITACION_ACEPTADA', 'USUARIO_REGISTRADO');
CREATE TYPE "TipoMovimiento" AS ENUM ('entrada', 'salida');
CREATE TYPE "EstadoCotizacion" AS ENUM ('PENDIENTE', 'CONVERTIDA', 'CANCELADA');
CREATE TYPE "EstadoOrdenCompra" AS ENUM ('BORRADOR', 'RECIBIDA', 'CANCELADA');

CREATE TABLE "Empresa" (
  "id" TEXT NOT NULL, "nombre" TEXT NOT NULL,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "Empresa_pkey" PRIMARY KEY ("id"));

CREATE TABLE "ConfiguracionEmpresa" (
  "id" TEXT NOT NULL, "empresaId" TEXT NOT NULL,
  "moneda" TEXT NOT NULL DEFAULT 'COP', "simboloMoneda" TEXT NOT NULL DEFAULT '$',
  "impuestos" DOUBLE PRECISION NOT NULL DEFAULT 0.19,
  "logoUrl" TEXT, "direccion" TEXT, "telefono" TEXT, "email" TEXT, "nombrePersonalizado" TEXT,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "actualizadoEn" TIMESTAMP(3) NOT NULL,
  CONSTRAINT "ConfiguracionEmpresa_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ConfiguracionEmpresa_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE UNIQUE INDEX "ConfiguracionEmpresa_empresaId_key" ON "ConfiguracionEmpresa"("empresaId");

CREATE TABLE "Usuario" (
  "id" TEXT NOT NULL, "neonAuthId" TEXT NOT NULL, "email" TEXT NOT NULL, "nombre" TEXT NOT NULL,
  "estado" "EstadoUsuario" NOT NULL DEFAULT 'PENDIENTE', "rol" "Rol" NOT NULL DEFAULT 'USUARIO',
  "permisos" "Permiso"[] DEFAULT ARRAY[]::"Permiso"[],
  "onboardingCompletado" BOOLEAN NOT NULL DEFAULT false,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Usuario_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Usuario_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE UNIQUE INDEX "Usuario_neonAuthId_key" ON "Usuario"("neonAuthId");
CREATE UNIQUE INDEX "Usuario_email_key" ON "Usuario"("email");
CREATE INDEX "Usuario_empresaId_idx" ON "Usuario"("empresaId");

CREATE TABLE "Invitacion" (
  "id" TEXT NOT NULL, "email" TEXT NOT NULL, "empresaId" TEXT NOT NULL, "token" TEXT NOT NULL,
  "rol" "Rol" NOT NULL DEFAULT 'USUARIO', "estado" "EstadoInvitacion" NOT NULL DEFAULT 'PENDIENTE',
  "expiraEn" TIMESTAMP(3) NOT NULL, "aceptadaEn" TIMESTAMP(3),
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "creadoPorId" TEXT,
  CONSTRAINT "Invitacion_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Invitacion_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Invitacion_creadoPorId_fkey" FOREIGN KEY ("creadoPorId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE);
CREATE UNIQUE INDEX "Invitacion_token_key" ON "Invitacion"("token");
CREATE INDEX "Invitacion_token_idx" ON "Invitacion"("token");
CREATE INDEX "Invitacion_empresaId_idx" ON "Invitacion"("empresaId");
CREATE INDEX "Invitacion_email_idx" ON "Invitacion"("email");

CREATE TABLE "Notificacion" (
  "id" SERIAL NOT NULL, "tipo" "TipoNotificacion" NOT NULL, "titulo" TEXT NOT NULL,
  "mensaje" TEXT, "link" TEXT, "leida" BOOLEAN NOT NULL DEFAULT false, "leidaEn" TIMESTAMP(3),
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "usuarioId" TEXT, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Notificacion_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Notificacion_usuarioId_fkey" FOREIGN KEY ("usuarioId") REFERENCES "Usuario"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Notificacion_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Notificacion_empresaId_leida_idx" ON "Notificacion"("empresaId", "leida");
CREATE INDEX "Notificacion_empresaId_usuarioId_leida_idx" ON "Notificacion"("empresaId", "usuarioId", "leida");
CREATE INDEX "Notificacion_creadoEn_idx" ON "Notificacion"("creadoEn" DESC);

CREATE TABLE "Categoria" (
  "id" SERIAL NOT NULL, "nombre" TEXT NOT NULL, "prefijo" TEXT NOT NULL, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Categoria_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Categoria_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Categoria_empresaId_idx" ON "Categoria"("empresaId");
CREATE UNIQUE INDEX "Categoria_empresaId_nombre_key" ON "Categoria"("empresaId", "nombre");
CREATE UNIQUE INDEX "Categoria_empresaId_prefijo_key" ON "Categoria"("empresaId", "prefijo");

CREATE TABLE "Producto" (
  "id" SERIAL NOT NULL, "nombre" TEXT NOT NULL, "descripcion" TEXT, "codigo" TEXT NOT NULL,
  "precio" DOUBLE PRECISION NOT NULL, "cantidad" INTEGER NOT NULL DEFAULT 0,
  "stockMinimo" INTEGER NOT NULL DEFAULT 1, "categoriaId" INTEGER NOT NULL,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Producto_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Producto_categoriaId_fkey" FOREIGN KEY ("categoriaId") REFERENCES "Categoria"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "Producto_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Producto_empresaId_idx" ON "Producto"("empresaId");
CREATE UNIQUE INDEX "Producto_empresaId_codigo_key" ON "Producto"("empresaId", "codigo");

CREATE TABLE "HistorialPrecio" (
  "id" SERIAL NOT NULL, "productoId" INTEGER NOT NULL,
  "precioAnterior" DOUBLE PRECISION NOT NULL, "precioNuevo" DOUBLE PRECISION NOT NULL,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "cambiadoPorId" TEXT, "empresaId" TEXT NOT NULL,
  CONSTRAINT "HistorialPrecio_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "HistorialPrecio_productoId_fkey" FOREIGN KEY ("productoId") REFERENCES "Producto"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "HistorialPrecio_cambiadoPorId_fkey" FOREIGN KEY ("cambiadoPorId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "HistorialPrecio_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "HistorialPrecio_productoId_creadoEn_idx" ON "HistorialPrecio"("productoId", "creadoEn" DESC);
CREATE INDEX "HistorialPrecio_empresaId_idx" ON "HistorialPrecio"("empresaId");

CREATE TABLE "Cliente" (
  "id" SERIAL NOT NULL, "nombre" TEXT NOT NULL, "documento" TEXT, "email" TEXT, "telefono" TEXT,
  "direccion" TEXT, "notas" TEXT, "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "empresaId" TEXT NOT NULL,
  CONSTRAINT "Cliente_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Cliente_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE UNIQUE INDEX "Cliente_documento_key" ON "Cliente"("documento");
CREATE INDEX "Cliente_empresaId_idx" ON "Cliente"("empresaId");
CREATE INDEX "Cliente_nombre_idx" ON "Cliente"("nombre");

CREATE TABLE "Venta" (
  "id" SERIAL NOT NULL, "vendedorId" TEXT, "clienteId" INTEGER, "total" DOUBLE PRECISION NOT NULL,
  "notas" TEXT, "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "canceladaEn" TIMESTAMP(3),
  "canceladaPorId" TEXT, "motivoCancelacion" TEXT, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Venta_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Venta_vendedorId_fkey" FOREIGN KEY ("vendedorId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Venta_clienteId_fkey" FOREIGN KEY ("clienteId") REFERENCES "Cliente"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Venta_canceladaPorId_fkey" FOREIGN KEY ("canceladaPorId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Venta_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Venta_empresaId_creadoEn_idx" ON "Venta"("empresaId", "creadoEn" DESC);
CREATE INDEX "Venta_vendedorId_idx" ON "Venta"("vendedorId");
CREATE INDEX "Venta_canceladaEn_idx" ON "Venta"("canceladaEn");
CREATE INDEX "Venta_clienteId_idx" ON "Venta"("clienteId");

CREATE TABLE "ItemVenta" (
  "id" SERIAL NOT NULL, "ventaId" INTEGER NOT NULL, "productoId" INTEGER NOT NULL,
  "cantidad" INTEGER NOT NULL, "precioUnitario" DOUBLE PRECISION NOT NULL, "subtotal" DOUBLE PRECISION NOT NULL,
  CONSTRAINT "ItemVenta_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ItemVenta_ventaId_fkey" FOREIGN KEY ("ventaId") REFERENCES "Venta"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "ItemVenta_productoId_fkey" FOREIGN KEY ("productoId") REFERENCES "Producto"("id") ON DELETE RESTRICT ON UPDATE CASCADE);
CREATE INDEX "ItemVenta_ventaId_idx" ON "ItemVenta"("ventaId");
CREATE INDEX "ItemVenta_productoId_idx" ON "ItemVenta"("productoId");

CREATE TABLE "Cotizacion" (
  "id" SERIAL NOT NULL, "vendedorId" TEXT, "clienteId" INTEGER, "total" DOUBLE PRECISION NOT NULL,
  "notas" TEXT, "estado" "EstadoCotizacion" NOT NULL DEFAULT 'PENDIENTE', "validaHasta" TIMESTAMP(3) NOT NULL,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "ventaId" INTEGER, "convertidaEn" TIMESTAMP(3),
  "canceladaEn" TIMESTAMP(3), "canceladaPorId" TEXT, "motivoCancelacion" TEXT, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Cotizacion_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Cotizacion_vendedorId_fkey" FOREIGN KEY ("vendedorId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Cotizacion_clienteId_fkey" FOREIGN KEY ("clienteId") REFERENCES "Cliente"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Cotizacion_ventaId_fkey" FOREIGN KEY ("ventaId") REFERENCES "Venta"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Cotizacion_canceladaPorId_fkey" FOREIGN KEY ("canceladaPorId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Cotizacion_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE UNIQUE INDEX "Cotizacion_ventaId_key" ON "Cotizacion"("ventaId");
CREATE INDEX "Cotizacion_empresaId_estado_validaHasta_idx" ON "Cotizacion"("empresaId", "estado", "validaHasta");
CREATE INDEX "Cotizacion_creadoEn_idx" ON "Cotizacion"("creadoEn" DESC);
CREATE INDEX "Cotizacion_vendedorId_idx" ON "Cotizacion"("vendedorId");

CREATE TABLE "ItemCotizacion" (
  "id" SERIAL NOT NULL, "cotizacionId" INTEGER NOT NULL, "productoId" INTEGER NOT NULL,
  "cantidad" INTEGER NOT NULL, "precioUnitario" DOUBLE PRECISION NOT NULL, "subtotal" DOUBLE PRECISION NOT NULL,
  CONSTRAINT "ItemCotizacion_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ItemCotizacion_cotizacionId_fkey" FOREIGN KEY ("cotizacionId") REFERENCES "Cotizacion"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "ItemCotizacion_productoId_fkey" FOREIGN KEY ("productoId") REFERENCES "Producto"("id") ON DELETE RESTRICT ON UPDATE CASCADE);
CREATE INDEX "ItemCotizacion_cotizacionId_idx" ON "ItemCotizacion"("cotizacionId");
CREATE INDEX "ItemCotizacion_productoId_idx" ON "ItemCotizacion"("productoId");

CREATE TABLE "Proveedor" (
  "id" SERIAL NOT NULL, "nombre" TEXT NOT NULL, "nit" TEXT, "contacto" TEXT, "telefono" TEXT,
  "email" TEXT, "direccion" TEXT, "activo" BOOLEAN NOT NULL DEFAULT true,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Proveedor_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Proveedor_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Proveedor_empresaId_idx" ON "Proveedor"("empresaId");

CREATE TABLE "OrdenCompra" (
  "id" SERIAL NOT NULL, "proveedorId" INTEGER NOT NULL,
  "estado" "EstadoOrdenCompra" NOT NULL DEFAULT 'BORRADOR', "total" DOUBLE PRECISION NOT NULL DEFAULT 0,
  "notas" TEXT, "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "recibidaEn" TIMESTAMP(3),
  "empresaId" TEXT NOT NULL,
  CONSTRAINT "OrdenCompra_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "OrdenCompra_proveedorId_fkey" FOREIGN KEY ("proveedorId") REFERENCES "Proveedor"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "OrdenCompra_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "OrdenCompra_empresaId_idx" ON "OrdenCompra"("empresaId");
CREATE INDEX "OrdenCompra_proveedorId_idx" ON "OrdenCompra"("proveedorId");
CREATE INDEX "OrdenCompra_estado_idx" ON "OrdenCompra"("estado");
CREATE INDEX "OrdenCompra_creadoEn_idx" ON "OrdenCompra"("creadoEn" DESC);

CREATE TABLE "OrdenCompraItem" (
  "id" SERIAL NOT NULL, "ordenCompraId" INTEGER NOT NULL, "productoId" INTEGER NOT NULL,
  "cantidad" INTEGER NOT NULL, "costoUnitario" DOUBLE PRECISION NOT NULL, "subtotal" DOUBLE PRECISION NOT NULL,
  CONSTRAINT "OrdenCompraItem_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "OrdenCompraItem_ordenCompraId_fkey" FOREIGN KEY ("ordenCompraId") REFERENCES "OrdenCompra"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "OrdenCompraItem_productoId_fkey" FOREIGN KEY ("productoId") REFERENCES "Producto"("id") ON DELETE RESTRICT ON UPDATE CASCADE);
CREATE INDEX "OrdenCompraItem_ordenCompraId_idx" ON "OrdenCompraItem"("ordenCompraId");
CREATE INDEX "OrdenCompraItem_productoId_idx" ON "OrdenCompraItem"("productoId");

CREATE TABLE "Movimiento" (
  "id" SERIAL NOT NULL, "productoId" INTEGER NOT NULL, "tipo" "TipoMovimiento" NOT NULL,
  "cantidad" INTEGER NOT NULL, "notas" TEXT, "ventaId" INTEGER, "ordenCompraId" INTEGER,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "empresaId" TEXT NOT NULL,
  CONSTRAINT "Movimiento_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Movimiento_productoId_fkey" FOREIGN KEY ("productoId") REFERENCES "Producto"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
  CONSTRAINT "Movimiento_ventaId_fkey" FOREIGN KEY ("ventaId") REFERENCES "Venta"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Movimiento_ordenCompraId_fkey" FOREIGN KEY ("ordenCompraId") REFERENCES "OrdenCompra"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Movimiento_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Movimiento_empresaId_tipo_creadoEn_idx" ON "Movimiento"("empresaId", "tipo", "creadoEn" DESC);
CREATE INDEX "Movimiento_ventaId_idx" ON "Movimiento"("ventaId");
CREATE INDEX "Movimiento_ordenCompraId_idx" ON "Movimiento"("ordenCompraId");

CREATE TABLE "Auditoria" (
  "id" SERIAL NOT NULL, "usuarioId" TEXT, "accion" TEXT NOT NULL, "entidad" TEXT NOT NULL,
  "entidadId" TEXT, "datos" JSONB, "ip" TEXT,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "empresaId" TEXT,
  CONSTRAINT "Auditoria_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Auditoria_usuarioId_fkey" FOREIGN KEY ("usuarioId") REFERENCES "Usuario"("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Auditoria_empresaId_fkey" FOREIGN KEY ("empresaId") REFERENCES "Empresa"("id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE INDEX "Auditoria_empresaId_creadoEn_idx" ON "Auditoria"("empresaId", "creadoEn" DESC);
CREATE INDEX "Auditoria_usuarioId_idx" ON "Auditoria"("usuarioId");
CREATE INDEX "Auditoria_entidad_entidadId_idx" ON "Auditoria"("entidad", "entidadId");
CREATE INDEX "Auditoria_accion_idx" ON "Auditoria"("accion");

CREATE TABLE "HistorialMovimientos" (
  "id" SERIAL NOT NULL, "usuarioId" TEXT NOT NULL, "accion" TEXT NOT NULL, "recursoId" INTEGER NOT NULL,
  "descripcion" TEXT NOT NULL, "datosAntes" JSONB, "datosDespues" JSONB, "ip" TEXT,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "empresaId" TEXT NOT NULL,
  CONSTRAINT "HistorialMovimientos_pkey" PRIMARY KEY ("id"));
CREATE INDEX "HistorialMovimientos_empresaId_creadoEn_idx" ON "HistorialMovimientos"("empresaId", "creadoEn" DESC);
CREATE INDEX "HistorialMovimientos_usuarioId_idx" ON "HistorialMovimientos"("usuarioId");
CREATE INDEX "HistorialMovimientos_recursoId_idx" ON "HistorialMovimientos"("recursoId");
CREATE INDEX "HistorialMovimientos_accion_idx" ON "HistorialMovimientos"("accion");

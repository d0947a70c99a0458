mod categorias;

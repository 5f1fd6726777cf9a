"""Pure scheduling of offices and the shared duty rota: datetimes in, decisions out."""

/* lib/store/pg_int.h — the PostgreSQL back end's schema (lib/store/pg_schema.c). */
#ifndef MAILVET_STORE_PG_INT_H
#define MAILVET_STORE_PG_INT_H

/* The SQL that takes the schema from version-1 to version; NULL past the last. */
const char *mv_store_pg_migration(int version);

#endif

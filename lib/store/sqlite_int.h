/* lib/store/sqlite_int.h — the SQLite back end's schema (lib/store/sqlite_schema.c). */
#ifndef MAILVET_STORE_SQLITE_INT_H
#define MAILVET_STORE_SQLITE_INT_H

/* The SQL that takes the schema from version-1 to version; NULL past the last. */
const char *mv_store_sqlite_migration(int version);

#endif

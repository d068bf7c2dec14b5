/*
 * lib/store/sqlite_schema.c — the SQLite schema, one migration per version.
 * A migration, once released, never changes: a new schema is a new entry.
 * The columns match lib/store/columns.c.
 */
#include <stddef.h>

#include "store/store_int.h"
#include "store/sqlite_int.h"

static const char v1[] =
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL);"
        "CREATE TABLE dmarc_record (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
        " source_ip TEXT NOT NULL, header_from TEXT NOT NULL, envelope_from TEXT NOT NULL,"
        " envelope_to TEXT NOT NULL, policy_domain TEXT NOT NULL, discovery TEXT NOT NULL,"
        " p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL, adkim TEXT NOT NULL,"
        " aspf TEXT NOT NULL, testing TEXT NOT NULL, psd TEXT NOT NULL, fo TEXT NOT NULL,"
        " rua TEXT NOT NULL, ruf TEXT NOT NULL, disposition TEXT NOT NULL,"
        " dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL, reason TEXT NOT NULL,"
        " reason_comment TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL,"
        " spf_result TEXT NOT NULL, dkim TEXT NOT NULL);"
        "CREATE INDEX dmarc_record_time ON dmarc_record (time, policy_domain);"
        "CREATE TABLE received_report (id INTEGER PRIMARY KEY, org_name TEXT NOT NULL,"
        " email TEXT NOT NULL, report_id TEXT NOT NULL, period_begin INTEGER NOT NULL,"
        " period_end INTEGER NOT NULL, version INTEGER NOT NULL, imported INTEGER NOT NULL,"
        " policy_domain TEXT NOT NULL, discovery TEXT NOT NULL, p TEXT NOT NULL,"
        " sp TEXT NOT NULL, np TEXT NOT NULL, adkim TEXT NOT NULL, aspf TEXT NOT NULL,"
        " testing TEXT NOT NULL, psd TEXT NOT NULL, fo TEXT NOT NULL, rua TEXT NOT NULL,"
        " ruf TEXT NOT NULL, UNIQUE (org_name, report_id));"
        "CREATE INDEX received_report_begin ON received_report (period_begin, policy_domain);"
        "CREATE TABLE received_row (report INTEGER NOT NULL REFERENCES received_report (id),"
        " count INTEGER NOT NULL, source_ip TEXT NOT NULL, header_from TEXT NOT NULL,"
        " envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL, disposition TEXT NOT NULL,"
        " dkim_aligned TEXT NOT NULL, spf_aligned TEXT NOT NULL, reason TEXT NOT NULL,"
        " reason_comment TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL,"
        " spf_result TEXT NOT NULL, dkim TEXT NOT NULL);"
        "CREATE INDEX received_row_report ON received_row (report);"
        "CREATE TABLE sent_report (report_id TEXT NOT NULL, destination TEXT NOT NULL,"
        " time INTEGER NOT NULL, PRIMARY KEY (report_id, destination));";

/* 2: submission trace records; a trace id is stored once (the partial index leaves "" free). */
static const char v2[] =
        "CREATE TABLE trace_record (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
        " trace_id TEXT NOT NULL, login TEXT NOT NULL, client_ip TEXT NOT NULL,"
        " message_id TEXT NOT NULL, envelope_from TEXT NOT NULL, rcpt_count INTEGER NOT NULL,"
        " dkim_domain TEXT NOT NULL, dkim_selector TEXT NOT NULL);"
        "CREATE INDEX trace_record_time ON trace_record (time);"
        "CREATE UNIQUE INDEX trace_record_trace_id ON trace_record (trace_id)"
        " WHERE trace_id <> '';"
        "CREATE INDEX trace_record_message_id ON trace_record (message_id);"
        "CREATE INDEX trace_record_login ON trace_record (login, time)";

static const char *const migrations[] = {v1, v2};

const char *mv_store_sqlite_migration(int version)
{
	return mv_store_migration_at(migrations, sizeof migrations / sizeof migrations[0], version);
}

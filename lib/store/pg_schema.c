/*
 * lib/store/pg_schema.c — the PostgreSQL schema, one migration per version.
 * Same tables and columns as lib/store/sqlite_schema.c (a migration, once
 * released, never changes); ids are identity columns, times bigint.
 * Uniqueness that several writers rely on is a constraint, so that
 * INSERT ... ON CONFLICT settles races inside the database.
 */
#include <stddef.h>

#include "store/store_int.h"
#include "store/pg_int.h"

static const char v1[] =
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied bigint NOT NULL);"
        "CREATE TABLE dmarc_record (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " time bigint NOT NULL,"
        " source_ip text NOT NULL, header_from text NOT NULL, envelope_from text NOT NULL,"
        " envelope_to text NOT NULL, policy_domain text NOT NULL, discovery text NOT NULL,"
        " p text NOT NULL, sp text NOT NULL, np text NOT NULL, adkim text NOT NULL,"
        " aspf text NOT NULL, testing text NOT NULL, psd text NOT NULL, fo text NOT NULL,"
        " rua text NOT NULL, ruf text NOT NULL, disposition text NOT NULL,"
        " dkim_aligned text NOT NULL, spf_aligned text NOT NULL, reason text NOT NULL,"
        " reason_comment text NOT NULL, spf_domain text NOT NULL, spf_scope text NOT NULL,"
        " spf_result text NOT NULL, dkim text NOT NULL);"
        "CREATE INDEX dmarc_record_time ON dmarc_record (time, policy_domain);"
        "CREATE TABLE received_report (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " org_name text NOT NULL,"
        " email text NOT NULL, report_id text NOT NULL, period_begin bigint NOT NULL,"
        " period_end bigint NOT NULL, version integer NOT NULL, imported bigint NOT NULL,"
        " policy_domain text NOT NULL, discovery text NOT NULL, p text NOT NULL,"
        " sp text NOT NULL, np text NOT NULL, adkim text NOT NULL, aspf text NOT NULL,"
        " testing text NOT NULL, psd text NOT NULL, fo text NOT NULL, rua text NOT NULL,"
        " ruf text NOT NULL, UNIQUE (org_name, report_id));"
        "CREATE INDEX received_report_begin ON received_report (period_begin, policy_domain);"
        "CREATE TABLE received_row (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " report bigint NOT NULL REFERENCES received_report (id),"
        " count bigint NOT NULL, source_ip text NOT NULL, header_from text NOT NULL,"
        " envelope_from text NOT NULL, envelope_to text NOT NULL, disposition text NOT NULL,"
        " dkim_aligned text NOT NULL, spf_aligned text NOT NULL, reason text NOT NULL,"
        " reason_comment text NOT NULL, spf_domain text NOT NULL, spf_scope text NOT NULL,"
        " spf_result text NOT NULL, dkim text NOT NULL);"
        "CREATE INDEX received_row_report ON received_row (report);"
        "CREATE TABLE sent_report (report_id text NOT NULL, destination text NOT NULL,"
        " time bigint NOT NULL, PRIMARY KEY (report_id, destination));";

/* 2: submission trace records; a trace id is stored once (the partial index leaves "" free). */
static const char v2[] =
        "CREATE TABLE trace_record (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " time bigint NOT NULL, trace_id text NOT NULL, login text NOT NULL,"
        " client_ip text NOT NULL, message_id text NOT NULL, envelope_from text NOT NULL,"
        " rcpt_count bigint NOT NULL, dkim_domain text NOT NULL, dkim_selector text NOT NULL);"
        "CREATE INDEX trace_record_time ON trace_record (time);"
        "CREATE UNIQUE INDEX trace_record_trace_id ON trace_record (trace_id)"
        " WHERE trace_id <> '';"
        "CREATE INDEX trace_record_message_id ON trace_record (message_id);"
        "CREATE INDEX trace_record_login ON trace_record (login, time)";

static const char *const migrations[] = {v1, v2};

const char *mv_store_pg_migration(int version)
{
	return mv_store_migration_at(migrations, sizeof migrations / sizeof migrations[0], version);
}

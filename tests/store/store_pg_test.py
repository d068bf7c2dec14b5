#!/usr/bin/python3
"""reports.store_pg: the store's cases (store_cases.c) against a real PostgreSQL.

Usage: store_pg_test.py STORE_PG_BINARY. Starts a private server
(pgserver.py), creates a database, runs the cmocka binary on it. A server
that cannot start fails the test.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pgserver  # noqa: E402


def main():
    pg = pgserver.PgServer()
    try:
        pg.start()
        loc = pg.createdb("mvstore")
        r = subprocess.run([sys.argv[1], loc])
        if r.returncode != 0:
            print(pg.log_text()[-3000:])
        return r.returncode
    except RuntimeError as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        pg.cleanup()


if __name__ == "__main__":
    sys.exit(main())

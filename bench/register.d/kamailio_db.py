"""bench/register's SQLite file for Kamailio's usrloc (--kamailio-db sqlite):
made with Kamailio's own schema, and read back after the run: the settings
each Kamailio process reported (kamailio.cfg logs them) and the rows."""
import glob
import os
import re
import sqlite3

# Kamailio's schema files (kamailio-sqlite-modules): the version table,
# then usrloc's tables and their version rows (location: 9 in 5.6).
SCHEMA = "/usr/share/kamailio/db_sqlite"
SCHEMA_FILES = ("standard-create.sql", "usrloc-create.sql")
SYNCHRONOUS = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}
# The line kamailio.cfg logs after each process's first save.
LINE = re.compile(r"bench-sqlite: journal_mode=(\S*) synchronous=(\S*) "
                  r"busy_timeout=(\S*) changes=(\S*)")


def installed():
    """Whether db_sqlite.so and the schema files are there."""
    return bool(glob.glob("/usr/lib/*/kamailio/modules/db_sqlite.so")) and \
        all(os.path.exists(os.path.join(SCHEMA, f)) for f in SCHEMA_FILES)


def create(path):
    """A new database at path with usrloc's tables, in WAL mode (a setting
    the file keeps; db_sqlite sets it again on each connection)."""
    db = sqlite3.connect(path)
    try:
        for name in SCHEMA_FILES:
            with open(os.path.join(SCHEMA, name)) as f:
                db.executescript(f.read())
        db.execute("PRAGMA journal_mode=WAL")
        db.commit()
    finally:
        db.close()


def read_back(logs, path):
    """What the Kamailio logs say about the SQLite settings of each
    process (changes()=1 proves the settings were read on the connection
    usrloc wrote with), and the rows in the file now (Kamailio stopped)."""
    seen = {}
    for log in logs:
        with open(log, errors="replace") as f:
            for m in LINE.finditer(f.read()):
                seen[m.groups()] = seen.get(m.groups(), 0) + 1
    out = {"kind": "sqlite", "usrloc_db_mode": 1, "file": path,
           "settings_read_back": [
               {"journal_mode": jm,
                "synchronous": SYNCHRONOUS.get(sync, sync),
                "busy_timeout_ms": int(busy) if busy.isdigit() else busy,
                "usrloc_connection": changes == "1", "processes": n}
               for (jm, sync, busy, changes), n in sorted(seen.items())]}
    try:
        db = sqlite3.connect(path)
        try:
            out["rows"], out["aors"] = db.execute(
                "SELECT count(*), count(DISTINCT username) FROM location"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as e:
        out["rows_error"] = str(e)
    out["text"] = describe(out)
    return out


def describe(out):
    """The report's store line for the read-back settings."""
    parts = ["journal_mode=%s synchronous=%s busy_timeout=%s ms "
             "(read back in %d process(es)%s)" % (
                 s["journal_mode"], s["synchronous"], s["busy_timeout_ms"],
                 s["processes"], "" if s["usrloc_connection"] else
                 ", NOT on usrloc's connection")
             for s in out["settings_read_back"]] or [
                 "no settings read back (no log line)"]
    rows = "%d rows for %d AORs at the end" % (out["rows"], out["aors"]) \
        if "rows" in out else "rows: " + out.get("rows_error", "?")
    return "usrloc db_mode 1 (write-through before the 200), SQLite %s; " \
        "%s" % ("; ".join(parts), rows)

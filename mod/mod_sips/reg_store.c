/* reg_store.c — the registration store: its front and the apr_dbd backend. */
#include <errno.h>
#include <string.h>
#include <apr_dbd.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "reg_store.h"

/* The front: picks a backend and serialises every call to it. */

struct reg_store {
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
	const reg_store_driver_t *drv;
	void *ctx;
};

static const reg_store_driver_t dbd_backend;

/* First match wins; apr_dbd serves any name it can load, so it is last. */
static const reg_store_driver_t *const backends[] = {&dbd_backend};

static apr_status_t store_cleanup(void *data)
{
	reg_store_t *s = data;

	s->drv->close(s->ctx);
	return APR_SUCCESS;
}

apr_status_t reg_store_open(reg_store_t **out, const char *driver,
			    const char *params, apr_pool_t *pool, char *why,
			    apr_size_t len)
{
	const reg_store_driver_t *drv = NULL;
	reg_store_t *s;
	apr_pool_t *sp;
	apr_status_t rv;
	apr_size_t i;

	if (!driver || !*driver)
		driver = "sqlite3";
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->serves(driver)) {
			drv = backends[i];
			break;
		}
	if (!drv) {
		apr_snprintf(why, len,
			     "registration store: no backend for "
			     "driver \"%s\"",
			     driver);
		return SB_ECONFIG;
	}
	rv = apr_pool_create(&sp, pool);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "registration store: out of memory");
		return rv;
	}
	s = apr_pcalloc(sp, sizeof(*s));
	s->pool = sp;
	s->drv = drv;
	rv = apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, sp);
	if (rv == APR_SUCCESS)
		rv = drv->open(&s->ctx, driver, params, sp, why, len);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(sp);
		return rv;
	}
	/* Registered last: runs first, while the mutex still exists. */
	apr_pool_cleanup_register(sp, s, store_cleanup, apr_pool_cleanup_null);
	*out = s;
	return APR_SUCCESS;
}

void reg_store_close(reg_store_t *s)
{
	if (s)
		apr_pool_destroy(s->pool);
}

static const char *or_empty(const char *v)
{
	return v ? v : "";
}

/* A copy the backends can read without NULL checks. */
static void normalise(reg_binding_t *to, const reg_binding_t *from)
{
	*to = *from;
	to->aor = or_empty(from->aor);
	to->contact = or_empty(from->contact);
	to->instance = or_empty(from->instance);
	to->path = or_empty(from->path);
	to->call_id = or_empty(from->call_id);
	to->src_ip = or_empty(from->src_ip);
	to->user_agent = or_empty(from->user_agent);
	to->profile = or_empty(from->profile);
	to->node = or_empty(from->node);
}

apr_status_t reg_store_put(reg_store_t *s, const reg_binding_t *b)
{
	reg_binding_t n;
	apr_status_t rv;

	if (!s || !b)
		return APR_EINVAL;
	normalise(&n, b);
	if (!*n.aor || !*n.contact)
		return APR_EINVAL;
	apr_thread_mutex_lock(s->lock);
	rv = s->drv->put(s->ctx, &n);
	apr_thread_mutex_unlock(s->lock);
	return rv;
}

apr_status_t reg_store_remove(reg_store_t *s, const reg_binding_t *identity)
{
	reg_binding_t n;
	apr_status_t rv;

	if (!s || !identity)
		return APR_EINVAL;
	normalise(&n, identity);
	if (!*n.aor)
		return APR_EINVAL;
	apr_thread_mutex_lock(s->lock);
	rv = s->drv->remove(s->ctx, &n);
	apr_thread_mutex_unlock(s->lock);
	return rv;
}

apr_status_t reg_store_remove_aor(reg_store_t *s, const char *aor)
{
	apr_status_t rv;

	if (!s || !aor || !*aor)
		return APR_EINVAL;
	apr_thread_mutex_lock(s->lock);
	rv = s->drv->remove_aor(s->ctx, aor);
	apr_thread_mutex_unlock(s->lock);
	return rv;
}

apr_status_t reg_store_load(reg_store_t *s, apr_pool_t *pool, apr_time_t now,
			    apr_array_header_t **out)
{
	apr_array_header_t *arr;
	apr_status_t rv;

	if (!s || !pool || !out)
		return APR_EINVAL;
	arr = apr_array_make(pool, 16, sizeof(reg_binding_t));
	apr_thread_mutex_lock(s->lock);
	rv = s->drv->load(s->ctx, pool, now, arr);
	apr_thread_mutex_unlock(s->lock);
	if (rv == APR_SUCCESS)
		*out = arr;
	return rv;
}

apr_status_t reg_store_purge(reg_store_t *s, apr_time_t now, int *removed)
{
	apr_status_t rv;
	int n = 0;

	if (!s)
		return APR_EINVAL;
	apr_thread_mutex_lock(s->lock);
	rv = s->drv->purge(s->ctx, now, &n);
	apr_thread_mutex_unlock(s->lock);
	if (rv == APR_SUCCESS && removed)
		*removed = n;
	return rv;
}

/* The apr_dbd backend: SQLite by default, PostgreSQL with "pgsql". */

/*
 * The SQL is the same for every driver: apr_dbd_prepare() turns %s, %d
 * and %lld into the driver's own placeholders ("?" for SQLite, "$n" for
 * PostgreSQL, which also learns the parameter types from them). Upsert
 * uses ON CONFLICT over partial unique indexes, which both SQLite
 * (>= 3.24) and PostgreSQL (>= 9.5) understand. BIGINT columns hold the
 * 64-bit values; flow_id goes in as the signed image of the unsigned id
 * so that ids above INT64_MAX survive a round trip.
 */
#define REG_TABLE "sips_registrations"

static const char *const ddl[] = {
    "CREATE TABLE IF NOT EXISTS " REG_TABLE " ("
    "aor TEXT NOT NULL, contact TEXT NOT NULL, instance TEXT NOT NULL, "
    "reg_id INTEGER NOT NULL, path TEXT NOT NULL, call_id TEXT NOT NULL, "
    "cseq BIGINT NOT NULL, expires BIGINT NOT NULL, "
    "transport INTEGER NOT NULL, flow_id BIGINT NOT NULL, "
    "src_ip TEXT NOT NULL, src_port INTEGER NOT NULL, "
    "user_agent TEXT NOT NULL, profile TEXT NOT NULL, node TEXT NOT NULL, "
    "q INTEGER NOT NULL)",
    /* The two identities of a binding (RFC 3261 10.3, RFC 5626 5.2). */
    "CREATE UNIQUE INDEX IF NOT EXISTS sips_reg_by_contact ON " REG_TABLE
    " (aor, contact) WHERE instance = ''",
    "CREATE UNIQUE INDEX IF NOT EXISTS sips_reg_by_instance ON " REG_TABLE
    " (aor, instance, reg_id) WHERE instance <> ''",
    "CREATE INDEX IF NOT EXISTS sips_reg_by_expires ON " REG_TABLE " (expires)",
};

/* Column order of INSERT and SELECT: bind_binding(), row_read(). */
#define REG_COLS                                                               \
	"aor, contact, instance, reg_id, path, call_id, cseq, expires, "       \
	"transport, flow_id, src_ip, src_port, user_agent, profile, node, q"
#define REG_VALS                                                               \
	"%s, %s, %s, %d, %s, %s, %lld, %lld, %d, %lld, %s, %d, %s, %s, %s, %d"
#define REG_SETS                                                               \
	"contact = excluded.contact, instance = excluded.instance, "           \
	"reg_id = excluded.reg_id, path = excluded.path, "                     \
	"call_id = excluded.call_id, cseq = excluded.cseq, "                   \
	"expires = excluded.expires, transport = excluded.transport, "         \
	"flow_id = excluded.flow_id, src_ip = excluded.src_ip, "               \
	"src_port = excluded.src_port, user_agent = excluded.user_agent, "     \
	"profile = excluded.profile, node = excluded.node, q = excluded.q"
#define REG_NCOLS 16

typedef enum {
	ST_PUT_CONTACT,
	ST_PUT_INSTANCE,
	ST_DEL_CONTACT,
	ST_DEL_INSTANCE,
	ST_DEL_AOR,
	ST_PURGE,
	ST_LOAD,
	ST_COUNT
} dbd_stmt_e;

/* Labels matter to PostgreSQL (named server-side statements). */
static const struct {
	const char *label;
	const char *sql;
} stmts[ST_COUNT] = {
    [ST_PUT_CONTACT] = {"sips_reg_put_c",
			"INSERT INTO " REG_TABLE " (" REG_COLS
			") VALUES (" REG_VALS ") ON CONFLICT (aor, contact)"
			" WHERE instance = '' DO UPDATE SET " REG_SETS},
    [ST_PUT_INSTANCE] = {"sips_reg_put_i",
			 "INSERT INTO " REG_TABLE " (" REG_COLS
			 ") VALUES (" REG_VALS ") ON CONFLICT (aor, "
			 "instance, reg_id) WHERE instance <> '' DO UPDATE "
			 "SET " REG_SETS},
    [ST_DEL_CONTACT] = {"sips_reg_del_c",
			"DELETE FROM " REG_TABLE " WHERE aor = %s AND "
			"contact = %s AND instance = ''"},
    [ST_DEL_INSTANCE] = {"sips_reg_del_i",
			 "DELETE FROM " REG_TABLE " WHERE aor = %s AND "
			 "instance = %s AND reg_id = %d"},
    [ST_DEL_AOR] = {"sips_reg_del_aor",
		    "DELETE FROM " REG_TABLE " WHERE aor = %s"},
    [ST_PURGE] = {"sips_reg_purge",
		  "DELETE FROM " REG_TABLE " WHERE expires <= %lld"},
    [ST_LOAD] = {"sips_reg_load",
		 "SELECT " REG_COLS " FROM " REG_TABLE " WHERE expires > %lld"
		 " ORDER BY aor, contact"},
};

typedef struct dbd_store {
	const apr_dbd_driver_t *drv;
	apr_dbd_t *h;
	apr_pool_t *scratch; /* per call, cleared after it */
	apr_dbd_prepared_t *st[ST_COUNT];
} dbd_store_t;

static int dbd_serves(const char *driver)
{
	/* apr_dbd loads any driver it has by name; open() says if not. */
	return driver != NULL;
}

/* Say why the directory or file of a SQLite store is unusable. */
static apr_status_t sqlite_preflight(const char *file, apr_pool_t *pool,
				     char *why, apr_size_t len)
{
	const char *slash = strrchr(file, '/');
	const char *dir;
	apr_finfo_t fi;
	apr_file_t *f;
	apr_status_t rv;
	char err[120];

	if (!*file) {
		apr_snprintf(why, len, "registration store: no file name");
		return SB_ECONFIG;
	}
	if (!strcmp(file, ":memory:"))
		return APR_SUCCESS;
	dir = !slash	      ? "."
	      : slash == file ? "/"
			      : apr_pstrndup(pool, file, slash - file);
	rv = apr_stat(&fi, dir, APR_FINFO_TYPE, pool);
	if (rv == APR_SUCCESS && fi.filetype != APR_DIR)
		rv = APR_ENOTDIR;
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len,
			     "registration store %s: directory %s is not "
			     "usable: %s",
			     file, dir, apr_strerror(rv, err, sizeof(err)));
		return rv;
	}
	/* Created here, not by SQLite, so the mode is ours: it holds
	 * addresses of phones. An empty file is a valid new database. */
	rv = apr_file_open(&f, file,
			   APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_CREATE,
			   APR_FPROT_UREAD | APR_FPROT_UWRITE, pool);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len,
			     "registration store %s: cannot create or write "
			     "it: %s",
			     file, apr_strerror(rv, err, sizeof(err)));
		return rv;
	}
	apr_file_close(f);
	return APR_SUCCESS;
}

/* WAL: a commit appends to the log and returns without fsync under
 * synchronous=NORMAL — durable against a killed process, not a power
 * cut.  The switch is the file's only user: exclusive locking (set
 * before WAL, so the WAL index lives in our heap) saves the fcntl lock
 * calls every transaction otherwise makes, and keeps a second switch
 * from writing into the same store. */
static apr_status_t sqlite_tune(dbd_store_t *d, const char **fail)
{
	apr_dbd_results_t *res = NULL;
	apr_dbd_row_t *row = NULL;
	const char *mode = NULL;
	int n;

	/* Both PRAGMAs answer with a row: select and drain it. */
	if (apr_dbd_select(d->drv, d->scratch, d->h, &res,
			   "PRAGMA locking_mode=EXCLUSIVE", 0)) {
		*fail = "PRAGMA locking_mode=EXCLUSIVE";
		return APR_EGENERAL;
	}
	while (apr_dbd_get_row(d->drv, d->scratch, res, &row, -1) == 0)
		;
	res = NULL;
	row = NULL;
	if (apr_dbd_select(d->drv, d->scratch, d->h, &res,
			   "PRAGMA journal_mode=WAL", 0)) {
		*fail = "PRAGMA journal_mode=WAL";
		return APR_EGENERAL;
	}
	while (apr_dbd_get_row(d->drv, d->scratch, res, &row, -1) == 0)
		if (!mode)
			mode = apr_pstrdup(d->scratch,
					   apr_dbd_get_entry(d->drv, row, 0));
	/* Refused rather than run slower unseen (a file system without
	 * shared memory, e.g. some network mounts): the cause is in why. */
	if (!mode || strcmp(mode, "wal")) {
		*fail = apr_psprintf(d->scratch,
				     "PRAGMA journal_mode=WAL (answered "
				     "\"%s\")",
				     mode ? mode : "nothing");
		return APR_ENOTIMPL;
	}
	if (apr_dbd_query(d->drv, d->h, &n, "PRAGMA synchronous=NORMAL")) {
		*fail = "PRAGMA synchronous=NORMAL";
		return APR_EGENERAL;
	}
	return APR_SUCCESS;
}

/* Tables, indexes, statements; on failure *fail names the step. */
static apr_status_t dbd_prepare_all(dbd_store_t *d, apr_pool_t *pool,
				    const char **fail)
{
	apr_size_t i;
	int n;

	for (i = 0; i < sizeof(ddl) / sizeof(ddl[0]); i++)
		if (apr_dbd_query(d->drv, d->h, &n, ddl[i])) {
			*fail = "creating the table";
			return APR_EGENERAL;
		}
	for (i = 0; i < ST_COUNT; i++)
		if (apr_dbd_prepare(d->drv, pool, d->h, stmts[i].sql,
				    stmts[i].label, &d->st[i])) {
			*fail = stmts[i].label;
			return APR_EGENERAL;
		}
	return APR_SUCCESS;
}

static apr_status_t dbd_driver_get(const char *driver, apr_pool_t *pool,
				   const apr_dbd_driver_t **drv, char *why,
				   apr_size_t len)
{
	apr_status_t rv;
	char err[120];

	/* Idempotent: apr_dbd_init() counts its callers and sets up once,
	 * in the process pool, whatever pool is handed in. */
	rv = apr_dbd_init(pool);
	if (rv == APR_SUCCESS)
		rv = apr_dbd_get_driver(pool, driver, drv);
	if (rv == APR_SUCCESS)
		return APR_SUCCESS;
	apr_snprintf(
	    why, len,
	    "registration store: apr_dbd driver \"%s\" is not "
	    "available (%s)%s",
	    driver, apr_strerror(rv, err, sizeof(err)),
	    !strcmp(driver, "sqlite3") ? "; install libaprutil1-dbd-sqlite3"
	    : !strcmp(driver, "pgsql") ? "; install libaprutil1-dbd-pgsql"
				       : "");
	return SB_ECONFIG;
}

static apr_status_t dbd_open(void **ctx, const char *driver, const char *params,
			     apr_pool_t *pool, char *why, apr_size_t len)
{
	int sqlite = !strcmp(driver, "sqlite3");
	const char *where = sqlite ? params : driver;
	const char *fail = NULL;
	dbd_store_t *d = apr_pcalloc(pool, sizeof(*d));
	apr_status_t rv;

	if (!params) {
		apr_snprintf(why, len, "registration store: no parameters");
		return SB_ECONFIG;
	}
	rv = dbd_driver_get(driver, pool, &d->drv, why, len);
	if (rv == APR_SUCCESS && sqlite)
		rv = sqlite_preflight(params, pool, why, len);
	if (rv == APR_SUCCESS)
		rv = apr_pool_create(&d->scratch, pool);
	if (rv != APR_SUCCESS)
		return rv;
	rv = apr_dbd_open_ex(d->drv, pool, params, &d->h, &fail);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "registration store %s: cannot open: %s",
			     where, fail ? fail : "unknown error");
		return rv;
	}
	if (sqlite)
		rv = sqlite_tune(d, &fail);
	if (rv == APR_SUCCESS)
		rv = dbd_prepare_all(d, pool, &fail);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "registration store %s: %s failed: %s",
			     where, fail,
			     rv == APR_ENOTIMPL
				 ? "WAL is not supported here"
				 : apr_dbd_error(d->drv, d->h, rv));
		apr_dbd_close(d->drv, d->h);
		return rv;
	}
	apr_pool_clear(d->scratch);
	*ctx = d;
	return APR_SUCCESS;
}

static void dbd_close(void *ctx)
{
	dbd_store_t *d = ctx;

	apr_dbd_close(d->drv, d->h);
}

/* Integers by value, as apr_dbd's binary binding reads them. */
typedef struct dbd_ints {
	int reg_id, transport, src_port, q;
	apr_int64_t cseq, expires, flow_id;
} dbd_ints_t;

static void bind_binding(const reg_binding_t *b, dbd_ints_t *n, const void **v)
{
	n->reg_id = b->reg_id;
	n->transport = b->transport;
	n->src_port = b->src_port;
	n->q = b->q;
	n->cseq = b->cseq;
	n->expires = b->expires;
	/* Two's complement image: BIGINT is signed in SQL. */
	n->flow_id = (apr_int64_t)b->flow_id;
	v[0] = b->aor;
	v[1] = b->contact;
	v[2] = b->instance;
	v[3] = &n->reg_id;
	v[4] = b->path;
	v[5] = b->call_id;
	v[6] = &n->cseq;
	v[7] = &n->expires;
	v[8] = &n->transport;
	v[9] = &n->flow_id;
	v[10] = b->src_ip;
	v[11] = &n->src_port;
	v[12] = b->user_agent;
	v[13] = b->profile;
	v[14] = b->node;
	v[15] = &n->q;
}

/* One prepared write; the scratch pool is cleared after it. */
static apr_status_t dbd_exec(dbd_store_t *d, dbd_stmt_e st, const void **v,
			     int *nrows)
{
	int n = 0;
	int rc = apr_dbd_pbquery(d->drv, d->scratch, d->h, &n, d->st[st], v);

	apr_pool_clear(d->scratch);
	if (rc)
		return APR_EGENERAL;
	if (nrows)
		*nrows = n;
	return APR_SUCCESS;
}

static apr_status_t dbd_put(void *ctx, const reg_binding_t *b)
{
	const void *v[REG_NCOLS];
	dbd_ints_t n;

	bind_binding(b, &n, v);
	return dbd_exec(ctx, *b->instance ? ST_PUT_INSTANCE : ST_PUT_CONTACT, v,
			NULL);
}

static apr_status_t dbd_remove(void *ctx, const reg_binding_t *id)
{
	const void *v[3];
	int reg_id = id->reg_id;

	v[0] = id->aor;
	if (*id->instance) {
		v[1] = id->instance;
		v[2] = &reg_id;
		return dbd_exec(ctx, ST_DEL_INSTANCE, v, NULL);
	}
	v[1] = id->contact;
	return dbd_exec(ctx, ST_DEL_CONTACT, v, NULL);
}

static apr_status_t dbd_remove_aor(void *ctx, const char *aor)
{
	const void *v[1] = {aor};

	return dbd_exec(ctx, ST_DEL_AOR, v, NULL);
}

static apr_status_t dbd_purge(void *ctx, apr_time_t now, int *removed)
{
	apr_int64_t t = now;
	const void *v[1] = {&t};

	return dbd_exec(ctx, ST_PURGE, v, removed);
}

/* A whole decimal integer, or failure: no silent zero for a bad cell. */
static int cell_i64(const char *cell, apr_int64_t *out)
{
	char *end;

	if (!cell || !*cell)
		return 0;
	errno = 0;
	*out = apr_strtoi64(cell, &end, 10);
	return !errno && !*end;
}

static const char *cell_str(const char *cell, apr_pool_t *pool)
{
	return apr_pstrdup(pool, cell ? cell : "");
}

/* Copy one row into @p b, strings in @p pool; 0 if a number is bad. */
static int row_read(dbd_store_t *d, apr_dbd_row_t *row, apr_pool_t *pool,
		    reg_binding_t *b)
{
	static const int num_col[] = {3, 6, 7, 8, 9, 11, 15};
	apr_int64_t n[7];
	apr_size_t i;

	for (i = 0; i < 7; i++)
		if (!cell_i64(apr_dbd_get_entry(d->drv, row, num_col[i]),
			      &n[i]))
			return 0;
	b->aor = cell_str(apr_dbd_get_entry(d->drv, row, 0), pool);
	b->contact = cell_str(apr_dbd_get_entry(d->drv, row, 1), pool);
	b->instance = cell_str(apr_dbd_get_entry(d->drv, row, 2), pool);
	b->reg_id = (int)n[0];
	b->path = cell_str(apr_dbd_get_entry(d->drv, row, 4), pool);
	b->call_id = cell_str(apr_dbd_get_entry(d->drv, row, 5), pool);
	b->cseq = (apr_uint32_t)n[1];
	b->expires = n[2];
	b->transport = (int)n[3];
	b->flow_id = (apr_uint64_t)n[4];
	b->src_ip = cell_str(apr_dbd_get_entry(d->drv, row, 10), pool);
	b->src_port = (int)n[5];
	b->user_agent = cell_str(apr_dbd_get_entry(d->drv, row, 12), pool);
	b->profile = cell_str(apr_dbd_get_entry(d->drv, row, 13), pool);
	b->node = cell_str(apr_dbd_get_entry(d->drv, row, 14), pool);
	b->q = (int)n[6];
	return 1;
}

static apr_status_t dbd_load(void *ctx, apr_pool_t *pool, apr_time_t now,
			     apr_array_header_t *out)
{
	dbd_store_t *d = ctx;
	apr_dbd_results_t *res = NULL;
	apr_dbd_row_t *row = NULL;
	apr_int64_t t = now;
	const void *v[1] = {&t};
	apr_status_t rv;
	reg_binding_t b;

	rv = dbd_purge(d, now, NULL);
	if (rv != APR_SUCCESS)
		return rv;
	if (apr_dbd_pbselect(d->drv, d->scratch, d->h, &res, d->st[ST_LOAD], 0,
			     v)) {
		apr_pool_clear(d->scratch);
		return APR_EGENERAL;
	}
	/* Sequential results must be read to the end (PostgreSQL). A row
	 * with a broken number is skipped rather than restored wrong. */
	while (apr_dbd_get_row(d->drv, d->scratch, res, &row, -1) == 0)
		if (row_read(d, row, pool, &b))
			APR_ARRAY_PUSH(out, reg_binding_t) = b;
	apr_pool_clear(d->scratch);
	return APR_SUCCESS;
}

static const reg_store_driver_t dbd_backend = {
    .name = "apr_dbd",
    .serves = dbd_serves,
    .open = dbd_open,
    .put = dbd_put,
    .remove = dbd_remove,
    .remove_aor = dbd_remove_aor,
    .load = dbd_load,
    .purge = dbd_purge,
    .close = dbd_close,
};

/* config_reference_test.c — docs/configuration-reference.md against the
 * profile parameter table: same names, same defaults, same ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "profile_params.h"

/*
 * The reference lists parameters in Markdown tables between two markers,
 * one row each: | `name` | `default` or *(empty)* | values | meaning |.
 * Tables elsewhere in the file (vars.xml, channel variables) are not
 * parameters and stay outside the markers.
 */
#define BEGIN_MARK "<!-- params:begin -->"
#define END_MARK "<!-- params:end -->"
#define EMPTY_DEFAULT "*(empty)*"
#define BAD_TOKEN "no-such-value"

typedef struct doc_row {
	const char *name;
	const char *def;
	const char *values;
	int line;
} doc_row_t;

typedef struct drift {
	int missing;	   /* in the code, not in the doc */
	int unknown;	   /* in the doc, not in the code */
	int wrong_default; /* in both, defaults differ */
	int duplicate;	   /* documented twice */
} drift_t;

#include "pool_fixture.h"

/* The reference as one string in @p pool, or NULL (the reason printed). */
static char *read_reference(apr_pool_t *p)
{
	const char *top = getenv("SB_TOP_SRCDIR");
	const char *path =
	    apr_pstrcat(p, top && *top ? top : ".",
			"/docs/configuration-reference.md", NULL);
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long len;

	if (!f) {
		print_error("cannot read %s (set SB_TOP_SRCDIR to the source "
			    "tree)\n",
			    path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		text = apr_palloc(p, (apr_size_t)len + 1);
		if (fread(text, 1, (size_t)len, f) != (size_t)len)
			text = NULL;
		else
			text[len] = '\0';
	}
	fclose(f);
	return text;
}

/* Trim blanks; a `code span` loses its backticks, "\|" becomes "|". */
static char *cell_text(char *cell, int *was_code)
{
	char *end, *in, *out;

	while (*cell == ' ' || *cell == '\t')
		cell++;
	end = cell + strlen(cell);
	while (end > cell && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	*was_code = end - cell >= 2 && cell[0] == '`' && end[-1] == '`' &&
		    !memchr(cell + 1, '`', (size_t)(end - cell - 2));
	if (*was_code) {
		end[-1] = '\0';
		cell++;
	}
	for (in = out = cell; *in; in++) {
		if (in[0] == '\\' && in[1] == '|')
			in++;
		*out++ = *in;
	}
	*out = '\0';
	return cell;
}

/* Split a table row on unescaped '|'; returns the number of cells. */
static int split_row(char *line, char **cells, int max)
{
	int n = 0;
	char *s = line + 1; /* after the leading '|' */
	char *start = s;

	for (; *s && n < max; s++) {
		if (*s == '\\' && s[1] == '|') {
			s++;
			continue;
		}
		if (*s == '|') {
			*s = '\0';
			cells[n++] = start;
			start = s + 1;
		}
	}
	return n;
}

/* The parameter rows between the markers; NULL when a marker is missing. */
static apr_array_header_t *parse_rows(const char *text, apr_pool_t *p)
{
	const char *begin = strstr(text, BEGIN_MARK);
	const char *end = begin ? strstr(begin, END_MARK) : NULL;
	apr_array_header_t *rows = apr_array_make(p, 64, sizeof(doc_row_t));
	char *copy, *line, *row;
	int lineno = 1;
	const char *c;

	if (!begin || !end)
		return NULL;
	for (c = text; c < begin; c++)
		lineno += *c == '\n';
	copy = apr_pstrmemdup(p, begin, (apr_size_t)(end - begin));
	/* Line by line by hand: strtok would skip empty lines, and with
	 * them the line numbers the messages give. */
	for (line = copy; line && *line; lineno++) {
		char *nl = strchr(line, '\n');
		char *cells[8];
		int code_name, code_def, code_values;
		doc_row_t *r;

		if (nl)
			*nl = '\0';
		row = line;
		line = nl ? nl + 1 : NULL;
		if (row[0] != '|' || split_row(row, cells, 8) < 4)
			continue;
		cells[0] = cell_text(cells[0], &code_name);
		if (!code_name)
			continue; /* header or separator row */
		r = apr_array_push(rows);
		r->name = cells[0];
		r->def = cell_text(cells[1], &code_def);
		if (!code_def && strcmp(r->def, EMPTY_DEFAULT))
			r->def = NULL; /* neither a code span nor empty */
		else if (!code_def)
			r->def = "";
		r->values = cell_text(cells[2], &code_values);
		r->line = lineno;
	}
	return rows;
}

static const doc_row_t *find_row(const apr_array_header_t *rows,
				 const char *name, int *count)
{
	const doc_row_t *found = NULL;
	int i;

	*count = 0;
	for (i = 0; i < rows->nelts; i++) {
		const doc_row_t *r = &APR_ARRAY_IDX(rows, i, doc_row_t);

		if (!strcmp(r->name, name)) {
			found = found ? found : r;
			(*count)++;
		}
	}
	return found;
}

static int in_code(const char *name)
{
	apr_size_t i;

	for (i = 0; profile_params_doc(i); i++)
		if (!strcmp(profile_params_doc(i)->name, name))
			return 1;
	return 0;
}

/* Compare @p rows with the code's table; every difference is printed. */
static void compare(const apr_array_header_t *rows, drift_t *d)
{
	const profile_param_doc_t *p;
	apr_size_t i;
	int k, count;

	memset(d, 0, sizeof(*d));
	for (i = 0; (p = profile_params_doc(i)) != NULL; i++) {
		const doc_row_t *r = find_row(rows, p->name, &count);

		if (!r) {
			print_message("not documented: %s (default \"%s\")\n",
				      p->name, p->def);
			d->missing++;
		} else if (!r->def || strcmp(r->def, p->def)) {
			print_message("line %d: %s: documented default \"%s\", "
				      "the code says \"%s\"\n",
				      r->line, p->name,
				      r->def ? r->def : "(not a `code span`)",
				      p->def);
			d->wrong_default++;
		}
		if (count > 1) {
			print_message("%s is documented %d times\n", p->name,
				      count);
			d->duplicate++;
		}
	}
	for (k = 0; k < rows->nelts; k++) {
		const doc_row_t *r = &APR_ARRAY_IDX(rows, k, doc_row_t);

		if (!in_code(r->name)) {
			print_message("line %d: %s is documented but the code "
				      "has no such parameter\n",
				      r->line, r->name);
			d->unknown++;
		}
	}
}

static int accepts(const char *name, const char *value)
{
	char why[256];
	sips_settings_t s;

	profile_params_defaults(&s, pool);
	return profile_params_apply(&s, name, value, pool, why, sizeof(why)) ==
	       APR_SUCCESS;
}

static int range_ok(const doc_row_t *r, unsigned long lo, unsigned long hi)
{
	char buf[32];

	if (!accepts(r->name, apr_ltoa(pool, (long)lo)) ||
	    !accepts(r->name, apr_ltoa(pool, (long)hi)))
		return 0;
	if (lo > 0 && accepts(r->name, apr_ltoa(pool, (long)lo - 1)))
		return 0;
	apr_snprintf(buf, sizeof(buf), "%lu", hi + 1);
	return !accepts(r->name, buf);
}

/* Every `token` of a values cell is accepted, and a made-up one is not. */
static int tokens_ok(const doc_row_t *r)
{
	const char *s = r->values;
	int n = 0;

	while ((s = strchr(s, '`')) != NULL) {
		const char *e = strchr(s + 1, '`');

		if (!e)
			return 0;
		if (!accepts(r->name, apr_pstrmemdup(pool, s + 1,
						     (apr_size_t)(e - s - 1))))
			return 0;
		n++;
		s = e + 1;
	}
	return n > 0 && !accepts(r->name, BAD_TOKEN);
}

/* What the values cell says is what the parser does. */
static int values_ok(const doc_row_t *r)
{
	unsigned long lo, hi;
	int used = 0;

	if (sscanf(r->values, "%lu..%lu%n", &lo, &hi, &used) == 2 && used &&
	    (r->values[used] == '\0' || r->values[used] == ' '))
		return range_ok(r, lo, hi);
	if (!strcmp(r->values, "port"))
		return range_ok(r, 1, 65535);
	if (!strcmp(r->values, "boolean"))
		return accepts(r->name, "true") && accepts(r->name, "false") &&
		       !accepts(r->name, BAD_TOKEN);
	if (!strcmp(r->values, "text"))
		return accepts(r->name, BAD_TOKEN);
	return tokens_ok(r);
}

static apr_array_header_t *reference_rows(void)
{
	char *text = read_reference(pool);
	apr_array_header_t *rows;

	assert_non_null(text);
	rows = parse_rows(text, pool);
	if (!rows)
		print_error("docs/configuration-reference.md: no " BEGIN_MARK
			    " ... " END_MARK " section\n");
	assert_non_null(rows);
	return rows;
}

static void test_doc_matches_code(void **state)
{
	apr_array_header_t *rows = reference_rows();
	drift_t d;

	(void)state;
	compare(rows, &d);
	assert_int_equal(d.missing, 0);
	assert_int_equal(d.wrong_default, 0);
	assert_int_equal(d.unknown, 0);
	assert_int_equal(d.duplicate, 0);
}

static void test_doc_values_match_parser(void **state)
{
	apr_array_header_t *rows = reference_rows();
	int i, bad = 0;

	(void)state;
	for (i = 0; i < rows->nelts; i++) {
		const doc_row_t *r = &APR_ARRAY_IDX(rows, i, doc_row_t);

		if (in_code(r->name) && !values_ok(r)) {
			print_message("line %d: %s: values \"%s\" are not "
				      "what the parser accepts\n",
				      r->line, r->name, r->values);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The checker itself: a reference built from the table, then spoilt. */
static void test_checker_sees_drift(void **state)
{
	const profile_param_doc_t *p;
	char *text =
	    apr_pstrdup(pool, "intro\n" BEGIN_MARK "\n"
			      "| Parameter | Default | Values | Meaning |\n"
			      "|---|---|---|---|\n");
	apr_array_header_t *rows;
	apr_size_t i;
	drift_t d;

	(void)state;
	for (i = 0; (p = profile_params_doc(i)) != NULL; i++) {
		const char *def = *p->def ? apr_psprintf(pool, "`%s`", p->def)
					  : EMPTY_DEFAULT;

		if (i == 0)
			continue; /* one left out */
		if (i == 1)
			def = "`not-the-default`";
		text = apr_psprintf(pool, "%s| `%s` | %s | text | %s |\n", text,
				    p->name, def, p->doc);
	}
	text = apr_pstrcat(
	    pool, text, "| `no-such-param` | `1` | text | x |\n", "| `",
	    profile_params_doc(2)->name, "` | `", profile_params_doc(2)->def,
	    "` | text | again |\n",
	    END_MARK "\n| `outside-the-markers` | `1` | x | y |\n", NULL);
	rows = parse_rows(text, pool);
	assert_non_null(rows);
	compare(rows, &d);
	assert_int_equal(d.missing, 1);
	assert_int_equal(d.wrong_default, 1);
	assert_int_equal(d.unknown, 1);
	assert_int_equal(d.duplicate, 1);
	assert_null(parse_rows("| `x` | `1` | text | no markers |\n", pool));
}

/* The values check refuses a range, a token list or a type that lies. */
static void test_values_check_sees_lies(void **state)
{
	doc_row_t r = {"tls-timeout", "10", "1..3600", 1};

	(void)state;
	assert_true(values_ok(&r));
	r.values = "1..3601";
	assert_false(values_ok(&r));
	r.values = "0..3600";
	assert_false(values_ok(&r));
	r.values = "text";
	assert_false(values_ok(&r));
	r.name = "tls-verify-policy";
	r.values = "one of `none`, `in`, `out`";
	assert_true(values_ok(&r));
	r.values = "one of `none`, `sometimes`";
	assert_false(values_ok(&r));
	r.name = "sip-port";
	r.values = "port";
	assert_true(values_ok(&r));
	r.values = "boolean";
	assert_false(values_ok(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checker_sees_drift),
	    cmocka_unit_test(test_values_check_sees_lies),
	    cmocka_unit_test(test_doc_matches_code),
	    cmocka_unit_test(test_doc_values_match_parser),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}

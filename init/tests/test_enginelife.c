/* enginelife.c: listeners hear up and down in registration order, down only after an up, and
 * engine_ready() is already true (or false) when they are called. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "enginelife.h"

static char heard[64];

static void note(const char *what)
{
	strncat(heard, what, sizeof heard - strlen(heard) - 1);
	strncat(heard, engine_ready() ? "+ " : "- ", sizeof heard - strlen(heard) - 1);
}
static void a_up(void) { note("aU"); }
static void a_down(void) { note("aD"); }
static void b_up(void) { note("bU"); }
static void b_down(void) { note("bD"); }

static void listeners_in_order_and_down_only_after_up(void **st)
{
	(void)st;
	static struct engine_listener a = { a_up, a_down, NULL }, b = { b_up, b_down, NULL },
		only_up = { b_up, NULL, NULL };
	engine_listen(&a);
	engine_listen(&b);
	engine_listen(&only_up);
	assert_false(engine_ready());
	engine_mark_down();                     /* never up: nothing to say */
	assert_string_equal(heard, "");
	engine_mark_up();
	assert_true(engine_ready());
	engine_mark_down();
	engine_mark_down();                     /* a second exit report changes nothing */
	assert_false(engine_ready());
	assert_string_equal(heard, "aU+ bU+ bU+ aD- bD- ");
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(listeners_in_order_and_down_only_after_up) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}

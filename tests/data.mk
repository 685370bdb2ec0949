# Tests of the runtime data layer (H5): messages and iterators, variants,
# shared memory, and the calling side (proxies, properties, signals).
data_tests = tests/test-message tests/test-variant tests/test-shm tests/test-error \
	tests/test-proxy tests/test-peer-call tests/test-python tests/test-validate tests/test-dict \
	tests/test-reply tests/test-limits-shm
check_PROGRAMS += $(data_tests)
TESTS += $(data_tests) tests/test-data-valgrind.sh
EXTRA_DIST += tests/test-data-valgrind.sh tests/data/py-service.py

data_test_cflags = $(AM_CFLAGS) $(DBUS_CFLAGS)
data_test_ldadd = libbusrpc.la $(DBUS_LIBS)

tests_test_message_SOURCES = tests/test-message.c
tests_test_message_CFLAGS = $(data_test_cflags)
tests_test_message_LDADD = $(data_test_ldadd)

tests_test_variant_SOURCES = tests/test-variant.c
tests_test_variant_CFLAGS = $(data_test_cflags)
tests_test_variant_LDADD = $(data_test_ldadd)

tests_test_limits_shm_SOURCES = tests/test-limits-shm.c
tests_test_limits_shm_CFLAGS = $(data_test_cflags)
tests_test_limits_shm_LDADD = $(data_test_ldadd)

tests_test_dict_SOURCES = tests/test-dict.c
tests_test_dict_CFLAGS = $(data_test_cflags)
tests_test_dict_LDADD = $(data_test_ldadd)

tests_test_shm_SOURCES = tests/test-shm.c
tests_test_shm_CFLAGS = $(data_test_cflags)
tests_test_shm_LDADD = $(data_test_ldadd)

tests_test_proxy_SOURCES = tests/test-proxy.c tests/data-bus.h tests/data-service.h
tests_test_proxy_CFLAGS = $(data_test_cflags)
tests_test_proxy_LDADD = $(data_test_ldadd)

tests_test_peer_call_SOURCES = tests/test-peer-call.c
tests_test_peer_call_CFLAGS = $(data_test_cflags)
tests_test_peer_call_LDADD = $(data_test_ldadd)

tests_test_reply_SOURCES = tests/test-reply.c
tests_test_reply_CFLAGS = $(data_test_cflags)
tests_test_reply_LDADD = $(data_test_ldadd)

# The validators are internal (hidden in the library): compiled in.
tests_test_validate_SOURCES = tests/test-validate.c runtime/validate.c common/names.c
tests_test_validate_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
tests_test_validate_CFLAGS = $(data_test_cflags)
tests_test_validate_LDADD = $(DBUS_LIBS)

tests_test_error_SOURCES = tests/test-error.c
tests_test_error_CFLAGS = $(data_test_cflags)
tests_test_error_LDADD = $(data_test_ldadd)

tests_test_python_SOURCES = tests/test-python.c tests/data-bus.h
tests_test_python_CFLAGS = $(data_test_cflags)
tests_test_python_LDADD = $(data_test_ldadd)

// SPDX-License-Identifier: MIT
/*
 * Host DNS configuration with temporary files: direct mode's backup and
 * byte-for-byte restore (mode kept), re-apply keeping the first backup,
 * recovery after a crash, a resolv.conf someone else rewrote, a symlinked
 * and an absent resolv.conf, a bind-mounted one (written in place, in a
 * private mount namespace when we may make one), bad input, an oversized
 * file, a corrupt state file, and resolved mode driven through a stand-in
 * resolvectl that records its arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/osconfig.h"

static const char original[] = "# written by the DHCP client\n"
			       "nameserver 10.0.0.1\n"
			       "nameserver 100.100.100.100\n"
			       "nameserver fe80::1%eth0\n"
			       "  nameserver\t2001:db8::53 # comment\n"
			       "options edns0\n";

static const char ours[] = OSCONFIG_MARKER "; the original is restored when meshd stops\n"
					   "nameserver 100.100.100.100\n"
					   "nameserver fd7a:115c:a1e0::53\n"
					   "search mesh.internal corp.example\n";

struct fixture {
	char dir[256];
	char state[300], resolv[300], resolved[300], tool[300], log[300];
	struct ip_addr ns[2];
	const char *search[2];
	struct osconfig_params p;
};

static void put(const char *path, const char *content, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *get(const char *path)
{
	static char buf[200000];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	snprintf(fx->dir, sizeof(fx->dir), "%s/test_dns_osconfig.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
	snprintf(fx->resolv, sizeof(fx->resolv), "%s/resolv.conf", fx->dir);
	snprintf(fx->resolved, sizeof(fx->resolved), "%s/resolved", fx->dir);
	snprintf(fx->tool, sizeof(fx->tool), "%s/resolvectl", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/resolvectl.log", fx->dir);
	ip_addr_parse(&fx->ns[0], "100.100.100.100", NULL);
	ip_addr_parse(&fx->ns[1], "fd7a:115c:a1e0::53", NULL);
	fx->search[0] = "mesh.internal";
	fx->search[1] = "corp.example";
	fx->p = (struct osconfig_params){
		.state_dir = fx->state,
		.resolv_conf = fx->resolv,
		.ifname = "mesh0",
		.nameservers = fx->ns,
		.nnameservers = 2,
		.search_domains = fx->search,
		.nsearch_domains = 2,
		.resolved_dir = fx->resolved, /* absent unless a test makes it */
		.resolvectl = fx->tool,
	};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static char *state_file(struct fixture *fx, const char *name)
{
	static char path[400];

	snprintf(path, sizeof(path), "%s/%s", fx->state, name);
	return path;
}

static void test_direct_apply_restore(void **state)
{
	struct fixture *fx = *state;
	enum osconfig_mode mode;
	struct ip_endpoint ups[4];
	struct stat sb;
	size_t n;

	put(fx->resolv, original, 0640);
	/* Before: the upstreams are what resolv.conf says, ours skipped. */
	assert_int_equal(osconfig_base_nameservers(&fx->p, ups, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(osconfig_current_mode(&fx->p), OSCONFIG_NONE);

	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_int_equal(mode, OSCONFIG_DIRECT);
	assert_string_equal(get(fx->resolv), ours);
	assert_int_equal(stat(fx->resolv, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_string_equal(get(state_file(fx, OSCONFIG_BACKUP_FILE)), original);
	assert_int_equal(osconfig_current_mode(&fx->p), OSCONFIG_DIRECT);
	/* The upstreams now come from the backup: 10.0.0.1 and 2001:db8::53. */
	assert_int_equal(osconfig_base_nameservers(&fx->p, ups, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ups[0].addr.family, IP_FAMILY_V4);
	assert_int_equal(ups[0].addr.bytes[0], 10);
	assert_int_equal(ups[0].port, 53);
	assert_int_equal(ups[1].addr.family, IP_FAMILY_V6);
	assert_int_equal(osconfig_base_nameservers(&fx->p, ups, 1, &n), 0);
	assert_int_equal(n, 1);

	/* Applying again (new search list) rewrites ours and keeps the first backup. */
	fx->p.nsearch_domains = 1;
	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_non_null(strstr(get(fx->resolv), "search mesh.internal\n"));
	assert_string_equal(get(state_file(fx, OSCONFIG_BACKUP_FILE)), original);

	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), original);
	assert_int_equal(stat(fx->resolv, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_false(exists(state_file(fx, OSCONFIG_STATE_FILE)));
	assert_false(exists(state_file(fx, OSCONFIG_BACKUP_FILE)));
	assert_int_equal(osconfig_current_mode(&fx->p), OSCONFIG_NONE);
	assert_int_equal(osconfig_restore(&fx->p), 0); /* nothing to do */
	assert_string_equal(get(fx->resolv), original);
}

static void test_crash_recovery(void **state)
{
	struct fixture *fx = *state;
	struct ip_endpoint ups[4];
	size_t n;

	put(fx->resolv, original, 0644);
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	/* The process dies here. The next start applies again: the backup stays the original. */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	assert_string_equal(get(state_file(fx, OSCONFIG_BACKUP_FILE)), original);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), original);

	/* Dies again; `meshd --cleanup` restores. */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), original);

	/* While applied, someone else rewrites resolv.conf: restore leaves theirs. */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	put(fx->resolv, "nameserver 192.0.2.1\n", 0644);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), "nameserver 192.0.2.1\n");
	assert_false(exists(state_file(fx, OSCONFIG_STATE_FILE)));

	/* ... and if we apply after such a rewrite, theirs becomes the new base. */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	put(fx->resolv, "nameserver 192.0.2.2\n", 0644);
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	assert_string_equal(get(state_file(fx, OSCONFIG_BACKUP_FILE)), "nameserver 192.0.2.2\n");
	assert_int_equal(osconfig_base_nameservers(&fx->p, ups, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ups[0].addr.bytes[3], 2);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), "nameserver 192.0.2.2\n");

	/* Ours but the state directory lost: applying works, nothing to restore from. */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	unlink(state_file(fx, OSCONFIG_STATE_FILE));
	unlink(state_file(fx, OSCONFIG_BACKUP_FILE));
	assert_int_equal(osconfig_base_nameservers(&fx->p, ups, 4, &n), 0);
	assert_int_equal(n, 0); /* ours lists only us */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	assert_string_equal(get(fx->resolv), ours);
}

static void test_symlink_and_absent(void **state)
{
	struct fixture *fx = *state;
	char target[400], link[400];
	struct stat sb;
	ssize_t n;

	snprintf(target, sizeof(target), "%s/upstream.conf", fx->dir);
	put(target, original, 0644);
	assert_int_equal(symlink("upstream.conf", fx->resolv), 0);
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	/* The link was replaced, its target not touched. */
	assert_int_equal(lstat(fx->resolv, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_string_equal(get(fx->resolv), ours);
	assert_string_equal(get(target), original);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_int_equal(lstat(fx->resolv, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	n = readlink(fx->resolv, link, sizeof(link) - 1);
	assert_int_equal(n, strlen("upstream.conf"));
	link[n] = '\0';
	assert_string_equal(link, "upstream.conf");
	assert_string_equal(get(target), original);
	unlink(fx->resolv);

	/* No resolv.conf at all: created, then removed. */
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	assert_string_equal(get(fx->resolv), ours);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_false(exists(fx->resolv));
}

/*
 * In a child with its own mount namespace: resolv.conf bind-mounted from
 * another file, as `ip netns exec` does with /etc/netns/NS/resolv.conf.
 * Renaming over a mount point fails with EBUSY, so it must be written in
 * place. Exit codes: 0 ok, 77 no mount namespace here, others = the check.
 */
static int bind_mount_child(struct fixture *fx)
{
	char backing[400], *s;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	snprintf(backing, sizeof(backing), "%s/netns-resolv.conf", fx->dir);
	put(backing, original, 0644);
	put(fx->resolv, "", 0644);
	if (mount(backing, fx->resolv, NULL, MS_BIND, NULL) < 0)
		return 77;
	if (rename(backing, fx->resolv) == 0 || errno != EBUSY)
		return 2; /* the premise: rename over the mount point fails */
	if (osconfig_apply(&fx->p, NULL) != 0)
		return 3;
	s = get(backing);
	if (!s || strcmp(s, ours))
		return 4; /* written through the mount */
	if (osconfig_restore(&fx->p) != 0)
		return 5;
	s = get(backing);
	if (!s || strcmp(s, original))
		return 6;
	s = get(fx->resolv);
	if (!s || strcmp(s, original))
		return 7;
	return 0;
}

static void test_bind_mount(void **state)
{
	struct fixture *fx = *state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(bind_mount_child(fx));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bad_input(void **state)
{
	struct fixture *fx = *state;
	const char *evil[] = {"mesh.internal\nnameserver 192.0.2.66"};
	const char *spaced[] = {"a b"};
	const char *dotted[] = {".a"};
	struct osconfig_params p = fx->p;
	char big[70000];

	put(fx->resolv, original, 0644);
	p.search_domains = evil;
	p.nsearch_domains = 1;
	assert_int_equal(osconfig_apply(&p, NULL), -EINVAL);
	p.search_domains = spaced;
	assert_int_equal(osconfig_apply(&p, NULL), -EINVAL);
	p.search_domains = dotted;
	assert_int_equal(osconfig_apply(&p, NULL), -EINVAL);
	p = fx->p;
	p.match_domains = evil;
	p.nmatch_domains = 1;
	assert_int_equal(osconfig_apply(&p, NULL), -EINVAL);
	p = fx->p;
	p.nnameservers = 0;
	assert_int_equal(osconfig_apply(&p, NULL), -EINVAL);
	p = fx->p;
	p.state_dir = NULL;
	assert_int_equal(osconfig_apply(&p, NULL), -EINVAL);
	assert_string_equal(get(fx->resolv), original);
	assert_false(exists(state_file(fx, OSCONFIG_STATE_FILE)));

	/* Too big to back up: refused, untouched. */
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(fx->resolv, big, 0644);
	assert_int_equal(osconfig_apply(&fx->p, NULL), -EFBIG);
	assert_string_equal(get(fx->resolv), big);
	assert_false(exists(state_file(fx, OSCONFIG_STATE_FILE)));

	/* A corrupt state file: removed by restore, then all works. */
	put(fx->resolv, original, 0644);
	assert_true(mkdir(fx->state, 0700) == 0 || errno == EEXIST);
	put(state_file(fx, OSCONFIG_STATE_FILE), "version 1\nmode sideways\n", 0600);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_false(exists(state_file(fx, OSCONFIG_STATE_FILE)));
	assert_int_equal(osconfig_apply(&fx->p, NULL), 0);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), original);
}

/* A stand-in resolvectl: logs its arguments; fails "status" or "dns" when told to. */
static void make_tool(struct fixture *fx, bool fail_status, bool fail_dns)
{
	char script[2048];

	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "echo \"$*\" >> '%s'\n"
		 "[ \"$1\" = status ] && exit %d\n"
		 "[ \"$1\" = dns ] && exit %d\n"
		 "exit 0\n",
		 fx->log, fail_status, fail_dns);
	put(fx->tool, script, 0755);
	unlink(fx->log);
}

static void test_resolved(void **state)
{
	struct fixture *fx = *state;
	const char *match[] = {"64.100.in-addr.arpa", "corp.example"};
	enum osconfig_mode mode;
	struct ip_endpoint ups[4];
	char path[400];
	size_t n;

	put(fx->resolv, original, 0644);
	assert_int_equal(mkdir(fx->resolved, 0755), 0);
	snprintf(path, sizeof(path), "%s/resolv.conf", fx->resolved);
	put(path, "nameserver 192.0.2.9\n", 0644);
	fx->p.match_domains = match;
	fx->p.nmatch_domains = 2;
	fx->p.nsearch_domains = 1;

	make_tool(fx, false, false);
	assert_true(osconfig_resolved_available(&fx->p));
	unlink(fx->log);
	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_int_equal(mode, OSCONFIG_RESOLVED);
	assert_string_equal(get(fx->log),
			    "status\n"
			    "dns mesh0 100.100.100.100 fd7a:115c:a1e0::53\n"
			    "domain mesh0 mesh.internal ~64.100.in-addr.arpa ~corp.example\n"
			    "default-route mesh0 no\n"
			    "llmnr mesh0 no\n"
			    "mdns mesh0 no\n");
	assert_string_equal(get(fx->resolv), original); /* untouched */
	assert_int_equal(osconfig_current_mode(&fx->p), OSCONFIG_RESOLVED);
	assert_int_equal(osconfig_base_nameservers(&fx->p, ups, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ups[0].addr.bytes[3], 9);
	unlink(fx->log);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->log), "revert mesh0\n");
	assert_int_equal(osconfig_current_mode(&fx->p), OSCONFIG_NONE);

	/* resolvectl refuses our servers: reverted, nothing recorded. */
	make_tool(fx, false, true);
	assert_int_equal(osconfig_apply(&fx->p, &mode), -EIO);
	assert_non_null(strstr(get(fx->log), "revert mesh0\n"));
	assert_int_equal(osconfig_current_mode(&fx->p), OSCONFIG_NONE);

	/* resolved does not answer: direct mode. */
	make_tool(fx, true, false);
	assert_false(osconfig_resolved_available(&fx->p));
	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_int_equal(mode, OSCONFIG_DIRECT);
	assert_non_null(strstr(get(fx->resolv), "nameserver 100.100.100.100\n"));
	/* Then it comes back: the file is restored first, then resolved configured. */
	make_tool(fx, false, false);
	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_int_equal(mode, OSCONFIG_RESOLVED);
	assert_string_equal(get(fx->resolv), original);
	/* A changed interface name: the old link is reverted first. */
	unlink(fx->log);
	fx->p.ifname = "mesh1";
	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_non_null(strstr(get(fx->log), "revert mesh0\n"));
	assert_non_null(strstr(get(fx->log), "dns mesh1 "));
	/* direct_only wins over a running resolved. */
	fx->p.direct_only = true;
	assert_int_equal(osconfig_apply(&fx->p, &mode), 0);
	assert_int_equal(mode, OSCONFIG_DIRECT);
	assert_int_equal(osconfig_restore(&fx->p), 0);
	assert_string_equal(get(fx->resolv), original);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_direct_apply_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_and_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolved, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

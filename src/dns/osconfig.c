// SPDX-License-Identifier: MIT
/*
 * Host DNS configuration (see osconfig.h). The order of operations is what
 * keeps a machine with working DNS whatever happens to us:
 *   apply:   backup file, then state file (the commit), then resolv.conf;
 *   restore: resolv.conf, then state file, then backup file.
 * A file of ours is recognised by its first line and is never backed up.
 */
#include "dns/osconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns/dnsname.h"
#include "dns/magicdns.h"
#include "util/log.h"

extern char **environ;

enum kind {
	KIND_FILE,
	KIND_SYMLINK,
	KIND_ABSENT,
};

static const char *const kind_names[] = {"file", "symlink", "absent"};
static const char *const mode_names[] = {"none", "direct", "resolved"};

struct state {
	enum osconfig_mode mode;
	enum kind kind;
	char path[PATH_MAX];
	char target[PATH_MAX];
	char ifname[IF_NAMESIZE];
	unsigned int perm;
	unsigned int uid, gid;
};

static const char *resolv_path(const struct osconfig_params *p)
{
	return p->resolv_conf ? p->resolv_conf : OSCONFIG_RESOLV_CONF;
}

static int state_path(const struct osconfig_params *p, const char *name, char *buf, size_t cap)
{
	if (!p->state_dir || !p->state_dir[0])
		return -EINVAL;
	if ((size_t)snprintf(buf, cap, "%s/%s", p->state_dir, name) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/* Read a whole (small) file into a malloc'd, NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int fd, ret = 0;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out_free;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= OSCONFIG_FILE_MAX) {
				ret = -EFBIG;
				goto out_close;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				ret = -ENOMEM;
				goto out_close;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out_close;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
out_close:
	close(fd);
out_free:
	free(buf);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write a sibling temporary file and rename it over @path. */
static int write_atomic(const char *path, const char *buf, size_t len, unsigned int perm,
			const struct state *owner)
{
	char tmp[PATH_MAX + 32];
	int fd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.meshd-tmp.%ld", path, (long)getpid()) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (ret == 0 && fchmod(fd, perm) < 0)
		ret = -errno;
	/* Keep the original owner when we can; not being root is not an error. */
	if (ret == 0 && owner && fchown(fd, owner->uid, owner->gid) < 0 && errno != EPERM)
		ret = -errno;
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/*
 * Overwrite @path's contents without replacing the file: for a bind-mounted
 * resolv.conf. Written over the old bytes, then cut, so no reader ever sees
 * an empty file.
 */
static int write_in_place(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (ret == 0 && ftruncate(fd, (off_t)len) < 0)
		ret = -errno;
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Replace resolv.conf's contents: atomically if the directory lets us, else in place. */
static int replace_resolv(const char *path, const char *buf, size_t len, unsigned int perm,
			  const struct state *owner)
{
	int ret = write_atomic(path, buf, len, perm, owner);

	if (ret == 0)
		return 0;
	log_debug("dns", "rename over resolv.conf failed, writing in place path=%s err=%s", path,
		  strerror(-ret));
	return write_in_place(path, buf, len);
}

static bool is_ours(const char *content)
{
	return !strncmp(content, OSCONFIG_MARKER, strlen(OSCONFIG_MARKER));
}

/* ---------------------------------------------------------------------------------------- */
/* The state file: "key value" lines. */

static int write_state(const struct osconfig_params *p, const struct state *st)
{
	char path[PATH_MAX], buf[3 * PATH_MAX];
	int n;

	if (strchr(st->path, '\n') || strchr(st->target, '\n'))
		return -EINVAL;
	n = state_path(p, OSCONFIG_STATE_FILE, path, sizeof(path));
	if (n < 0)
		return n;
	n = snprintf(buf, sizeof(buf),
		     "version 1\nmode %s\npath %s\nkind %s\nperm %o\nowner %u %u\nifname %s\n"
		     "target %s\n",
		     mode_names[st->mode], st->path, kind_names[st->kind], st->perm, st->uid,
		     st->gid, st->ifname, st->target);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return write_atomic(path, buf, (size_t)n, 0600, NULL);
}

static int lookup(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(names[i], v))
			return (int)i;
	}
	return -1;
}

static int parse_state_line(struct state *st, const char *key, const char *v)
{
	int i;

	if (!strcmp(key, "mode")) {
		i = lookup(mode_names, 3, v);
		if (i <= 0)
			return -EINVAL;
		st->mode = (enum osconfig_mode)i;
	} else if (!strcmp(key, "kind")) {
		i = lookup(kind_names, 3, v);
		if (i < 0)
			return -EINVAL;
		st->kind = (enum kind)i;
	} else if (!strcmp(key, "path")) {
		snprintf(st->path, sizeof(st->path), "%s", v);
	} else if (!strcmp(key, "target")) {
		snprintf(st->target, sizeof(st->target), "%s", v);
	} else if (!strcmp(key, "ifname")) {
		snprintf(st->ifname, sizeof(st->ifname), "%s", v);
	} else if (!strcmp(key, "perm")) {
		if (sscanf(v, "%o", &st->perm) != 1)
			return -EINVAL;
	} else if (!strcmp(key, "owner")) {
		if (sscanf(v, "%u %u", &st->uid, &st->gid) != 2)
			return -EINVAL;
	}
	return 0;
}

/* Returns 0, -ENOENT (no state: nothing applied) or -EINVAL (unreadable). */
static int read_state(const struct osconfig_params *p, struct state *st)
{
	char path[PATH_MAX], *buf, *line, *save = NULL;
	size_t len;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = state_path(p, OSCONFIG_STATE_FILE, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = read_file(path, &buf, &len);
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line && ret == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp = '\0';
		ret = parse_state_line(st, line, sp + 1);
	}
	free(buf);
	if (ret == 0 && (st->mode == OSCONFIG_NONE || !st->path[0]))
		ret = -EINVAL;
	return ret;
}

static void remove_state(const struct osconfig_params *p)
{
	char path[PATH_MAX];

	if (state_path(p, OSCONFIG_STATE_FILE, path, sizeof(path)) == 0)
		unlink(path);
	if (state_path(p, OSCONFIG_BACKUP_FILE, path, sizeof(path)) == 0)
		unlink(path);
}

enum osconfig_mode osconfig_current_mode(const struct osconfig_params *p)
{
	struct state st;

	return read_state(p, &st) == 0 ? st.mode : OSCONFIG_NONE;
}

/* ---------------------------------------------------------------------------------------- */
/* systemd-resolved through resolvectl */

static int find_exe(const struct osconfig_params *p, char *buf, size_t cap)
{
	const char *name = p->resolvectl ? p->resolvectl : "resolvectl";
	const char *path = getenv("PATH");
	char dirs[1024], *dir, *save = NULL;

	if (strchr(name, '/')) {
		snprintf(buf, cap, "%s", name);
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/bin", path ? path : "");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap && access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Run @argv (argv[0] a path) with stdio on /dev/null; 0 if it exits 0, else -EIO. */
static int run(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int ret, status;

	ret = posix_spawn_file_actions_init(&fa);
	if (ret)
		return -ret;
	for (int fd = 0; fd <= 2 && ret == 0; fd++)
		ret = posix_spawn_file_actions_addopen(&fa, fd, "/dev/null",
						       fd ? O_WRONLY : O_RDONLY, 0);
	if (ret == 0)
		ret = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -ret;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

bool osconfig_resolved_available(const struct osconfig_params *p)
{
	const char *dir = p->resolved_dir ? p->resolved_dir : OSCONFIG_RESOLVED_DIR;
	char exe[PATH_MAX];
	struct stat sb;

	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode) || find_exe(p, exe, sizeof(exe)) < 0)
		return false;
	return run((const char *const[]){exe, "status", NULL}) == 0;
}

static int resolvectl(const struct osconfig_params *p, const char *verb, const char *ifname,
		      const char *const *args, size_t nargs)
{
	char exe[PATH_MAX];
	const char *argv[4 + 2 * OSCONFIG_DOMAINS_MAX + 1];
	size_t n = 0;
	int ret = find_exe(p, exe, sizeof(exe));

	if (ret < 0)
		return ret;
	if (nargs > 2 * OSCONFIG_DOMAINS_MAX)
		return -EINVAL;
	argv[n++] = exe;
	argv[n++] = verb;
	argv[n++] = ifname;
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ret = run(argv);
	if (ret < 0)
		log_warn("dns", "resolvectl failed cmd=%s ifname=%s", verb, ifname);
	return ret;
}

static int apply_resolved(const struct osconfig_params *p)
{
	char addrs[OSCONFIG_DOMAINS_MAX][IP_ADDR_STRLEN], tilde[OSCONFIG_DOMAINS_MAX][256];
	const char *args[2 * OSCONFIG_DOMAINS_MAX];
	struct state st = {.mode = OSCONFIG_RESOLVED, .kind = KIND_ABSENT};
	size_t n = 0;
	int ret;

	if (!p->ifname || !p->ifname[0] || strlen(p->ifname) >= sizeof(st.ifname) ||
	    p->nnameservers > OSCONFIG_DOMAINS_MAX)
		return -EINVAL;
	snprintf(st.ifname, sizeof(st.ifname), "%s", p->ifname);
	snprintf(st.path, sizeof(st.path), "%s", resolv_path(p));
	/* Commit first: a crash from here on leaves a record to revert. */
	ret = write_state(p, &st);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < p->nnameservers; i++)
		args[n++] = ip_addr_format(&p->nameservers[i], addrs[i], sizeof(addrs[i]));
	ret = resolvectl(p, "dns", p->ifname, args, n);
	if (ret < 0)
		goto out_revert;
	n = 0;
	for (size_t i = 0; i < p->nsearch_domains; i++)
		args[n++] = p->search_domains[i];
	for (size_t i = 0; i < p->nmatch_domains; i++) {
		snprintf(tilde[i], sizeof(tilde[i]), "~%s", p->match_domains[i]);
		args[n++] = tilde[i];
	}
	if (n == 0)
		args[n++] = "";
	ret = resolvectl(p, "domain", p->ifname, args, n);
	if (ret < 0)
		goto out_revert;
	/* Optional knobs (older systemd lacks default-route): failures are not fatal. */
	args[0] = p->default_route ? "yes" : "no";
	resolvectl(p, "default-route", p->ifname, args, 1);
	args[0] = "no";
	resolvectl(p, "llmnr", p->ifname, args, 1);
	resolvectl(p, "mdns", p->ifname, args, 1);
	return 0;
out_revert:
	resolvectl(p, "revert", p->ifname, NULL, 0);
	remove_state(p);
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* direct: resolv.conf */

/* A domain we may write into resolv.conf: a valid name of [A-Za-z0-9._-] only. */
static bool plain_domain(const char *s)
{
	struct dns_name n;

	if (!s || !s[0] || s[0] == '.' ||
	    s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")])
		return false;
	return dns_name_from_text(&n, s) == 0 && n.labels > 0;
}

static int render(const struct osconfig_params *p, char *buf, size_t cap, size_t *len)
{
	char a[IP_ADDR_STRLEN];
	size_t o = 0;
	int n;

	n = snprintf(buf, cap, "%s; the original is restored when meshd stops\n", OSCONFIG_MARKER);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	o = (size_t)n;
	for (size_t i = 0; i < p->nnameservers; i++) {
		n = snprintf(buf + o, cap - o, "nameserver %s\n",
			     ip_addr_format(&p->nameservers[i], a, sizeof(a)));
		if (n < 0 || (size_t)n >= cap - o)
			return -ENOSPC;
		o += (size_t)n;
	}
	if (p->nsearch_domains) {
		n = snprintf(buf + o, cap - o, "search");
		for (size_t i = 0; n >= 0 && i < p->nsearch_domains; i++) {
			o += (size_t)n;
			n = snprintf(buf + o, cap - o, " %s", p->search_domains[i]);
			if (n < 0 || (size_t)n >= cap - o)
				return -ENOSPC;
		}
		o += (size_t)n;
		if (o + 1 >= cap)
			return -ENOSPC;
		buf[o++] = '\n';
		buf[o] = '\0';
	}
	*len = o;
	return 0;
}

/* Save what @path is now into the backup file and the state file. */
static int take_backup(const struct osconfig_params *p, const char *path, struct state *st)
{
	char bpath[PATH_MAX];
	char *content = NULL;
	size_t len = 0;
	struct stat sb;
	ssize_t tl;
	int ret;

	memset(st, 0, sizeof(*st));
	st->mode = OSCONFIG_DIRECT;
	snprintf(st->path, sizeof(st->path), "%s", path);
	if (lstat(path, &sb) < 0) {
		if (errno != ENOENT)
			return -errno;
		st->kind = KIND_ABSENT;
	} else if (S_ISLNK(sb.st_mode)) {
		st->kind = KIND_SYMLINK;
		tl = readlink(path, st->target, sizeof(st->target) - 1);
		if (tl < 0)
			return -errno;
		st->target[tl] = '\0';
	} else if (S_ISREG(sb.st_mode)) {
		st->kind = KIND_FILE;
		st->perm = sb.st_mode & 07777;
		st->uid = sb.st_uid;
		st->gid = sb.st_gid;
	} else {
		return -EINVAL;
	}
	/* The contents (through a symlink too) are what the upstream list comes from. */
	if (st->kind != KIND_ABSENT) {
		ret = read_file(path, &content, &len);
		if (ret < 0 && !(ret == -ENOENT && st->kind == KIND_SYMLINK))
			return ret;
	}
	ret = state_path(p, OSCONFIG_BACKUP_FILE, bpath, sizeof(bpath));
	if (ret == 0)
		ret = write_atomic(bpath, content ? content : "", len, 0600, NULL);
	free(content);
	if (ret == 0)
		ret = write_state(p, st);
	return ret;
}

static int apply_direct(const struct osconfig_params *p)
{
	const char *path = resolv_path(p);
	char buf[8192], *cur = NULL;
	struct state st;
	struct stat sb;
	size_t len, curlen;
	bool ours = false;
	int ret;

	ret = render(p, buf, sizeof(buf), &len);
	if (ret < 0)
		return -EINVAL;
	/* Through a symlink too: an in-place write may have gone to its target. */
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
		ret = read_file(path, &cur, &curlen);
		if (ret < 0)
			return ret;
		ours = is_ours(cur);
		free(cur);
	}
	ret = read_state(p, &st);
	if (ret == 0 && !ours) {
		log_info("dns",
			 "resolv.conf changed since the last backup, taking a new one path=%s",
			 path);
		ret = -ENOENT;
	}
	if (ret < 0 && ours) {
		/* Ours, without a backup (deleted state dir?): nothing to save. */
		log_warn("dns", "resolv.conf is ours but there is no backup path=%s", path);
		memset(&st, 0, sizeof(st));
		st.mode = OSCONFIG_DIRECT;
		st.kind = KIND_FILE;
		st.perm = 0644;
		snprintf(st.path, sizeof(st.path), "%s", path);
		ret = 0;
	} else if (ret < 0) {
		ret = take_backup(p, path, &st);
		if (ret < 0)
			return ret;
	}
	return replace_resolv(path, buf, len, st.kind == KIND_FILE ? st.perm : 0644,
			      st.kind == KIND_FILE ? &st : NULL);
}

static int restore_direct(const struct osconfig_params *p, const struct state *st)
{
	char bpath[PATH_MAX], tmp[PATH_MAX + 32], *cur = NULL, *orig = NULL;
	struct stat sb;
	size_t curlen, origlen = 0;
	bool absent = false, ours = false, is_link = false;
	int ret;

	if (lstat(st->path, &sb) < 0) {
		if (errno != ENOENT)
			return -errno;
		absent = true;
	} else {
		is_link = S_ISLNK(sb.st_mode);
		if (read_file(st->path, &cur, &curlen) == 0)
			ours = is_ours(cur);
		free(cur);
	}
	if (!absent && !ours) {
		log_info("dns", "resolv.conf was replaced by someone else, leaving it path=%s",
			 st->path);
		return 0;
	}
	ret = state_path(p, OSCONFIG_BACKUP_FILE, bpath, sizeof(bpath));
	if (ret == 0 && st->kind != KIND_ABSENT)
		ret = read_file(bpath, &orig, &origlen);
	if (ret < 0)
		return ret;
	switch (st->kind) {
	case KIND_ABSENT:
		if (unlink(st->path) < 0 && errno != ENOENT)
			ret = write_in_place(st->path, "", 0); /* a mount point stays */
		break;
	case KIND_SYMLINK:
		/* Still the link: we wrote through it (in place), so its target gets the bytes back. */
		if (is_link) {
			ret = write_in_place(st->path, orig, origlen);
			break;
		}
		snprintf(tmp, sizeof(tmp), "%s.meshd-tmp.%ld", st->path, (long)getpid());
		unlink(tmp);
		if (symlink(st->target, tmp) == 0 && rename(tmp, st->path) == 0)
			break;
		unlink(tmp);
		ret = write_in_place(st->path, orig, origlen);
		break;
	case KIND_FILE:
		ret = replace_resolv(st->path, orig, origlen, st->perm, st);
		break;
	}
	free(orig);
	return ret;
}

int osconfig_apply(const struct osconfig_params *p, enum osconfig_mode *mode)
{
	enum osconfig_mode want;
	struct state st;
	int ret;

	if (mode)
		*mode = OSCONFIG_NONE;
	if (!p->state_dir || !p->nnameservers || p->nsearch_domains > OSCONFIG_DOMAINS_MAX ||
	    p->nmatch_domains > OSCONFIG_DOMAINS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < p->nsearch_domains; i++) {
		if (!plain_domain(p->search_domains[i]))
			return -EINVAL;
	}
	for (size_t i = 0; i < p->nmatch_domains; i++) {
		if (!plain_domain(p->match_domains[i]))
			return -EINVAL;
	}
	if (mkdir(p->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	want = !p->direct_only && osconfig_resolved_available(p) ? OSCONFIG_RESOLVED
								 : OSCONFIG_DIRECT;
	/* What was applied before differs (resolved came or went, another path): undo it. */
	if (read_state(p, &st) == 0 &&
	    (st.mode != want || strcmp(st.path, resolv_path(p)) ||
	     (want == OSCONFIG_RESOLVED && strcmp(st.ifname, p->ifname ? p->ifname : "")))) {
		ret = osconfig_restore(p);
		if (ret < 0)
			return ret;
	}
	ret = want == OSCONFIG_RESOLVED ? apply_resolved(p) : apply_direct(p);
	if (ret == 0 && mode)
		*mode = want;
	return ret;
}

int osconfig_restore(const struct osconfig_params *p)
{
	struct state st;
	int ret = read_state(p, &st);

	if (ret == -ENOENT)
		return 0;
	if (ret == -EINVAL) {
		log_warn("dns", "unreadable DNS state file in %s, removing it", p->state_dir);
		remove_state(p);
		return 0;
	}
	if (ret < 0)
		return ret;
	if (st.mode == OSCONFIG_RESOLVED) {
		/* Fails harmlessly when the interface is already gone (and with it the config). */
		resolvectl(p, "revert", st.ifname, NULL, 0);
	} else {
		ret = restore_direct(p, &st);
		if (ret < 0) {
			log_error("dns", "restoring resolv.conf failed path=%s err=%s", st.path,
				  strerror(-ret));
			return ret;
		}
	}
	remove_state(p);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The base configuration's nameservers */

static void parse_nameservers(char *text, struct ip_endpoint *out, size_t max, size_t *n)
{
	struct ip_addr svc4, svc6;
	char *line, *save = NULL;

	magicdns_service_addr(&svc4, false);
	magicdns_service_addr(&svc6, true);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = line + strspn(line, " \t");
		struct ip_addr a;

		if (strncmp(v, "nameserver", 10) || !strchr(" \t", v[10]) || !v[10])
			continue;
		v += 10 + strspn(v + 10, " \t");
		v[strcspn(v, " \t#;\r")] = '\0';
		if (ip_addr_parse(&a, v, NULL) < 0 || ip_addr_equal(&a, &svc4) ||
		    ip_addr_equal(&a, &svc6))
			continue;
		if (*n < max)
			out[(*n)++] = (struct ip_endpoint){.addr = a, .port = 53};
	}
}

/* Which file lists the resolvers the system had before us. */
static int base_file(const struct osconfig_params *p, const struct state *st, char *buf, size_t cap)
{
	int n;

	if (st->mode == OSCONFIG_DIRECT)
		return state_path(p, OSCONFIG_BACKUP_FILE, buf, cap);
	if (st->mode == OSCONFIG_RESOLVED)
		n = snprintf(buf, cap, "%s/resolv.conf",
			     p->resolved_dir ? p->resolved_dir : OSCONFIG_RESOLVED_DIR);
	else
		n = snprintf(buf, cap, "%s", resolv_path(p));
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int osconfig_base_nameservers(const struct osconfig_params *p, struct ip_endpoint *out, size_t max,
			      size_t *n)
{
	char path[PATH_MAX], *text;
	struct state st;
	size_t len;
	int ret;

	*n = 0;
	if (read_state(p, &st) < 0)
		memset(&st, 0, sizeof(st));
	ret = base_file(p, &st, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = read_file(path, &text, &len);
	if (ret < 0)
		return ret;
	if (st.mode == OSCONFIG_NONE && is_ours(text)) {
		free(text);
		return 0; /* ours, without a backup: nothing to learn */
	}
	parse_nameservers(text, out, max, n);
	free(text);
	return 0;
}

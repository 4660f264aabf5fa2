// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfnetd: keeps bpfnet's pinned maps equal to the cluster's Services and
 * EndpointSlices, and owns loading and attaching the datapath programs.
 * The datapath stays in place when the agent exits (SIGTERM, crash,
 * upgrade); a new agent adopts it. `bpfnetd --cleanup` removes it all.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "agent.h"
#include "loader.h"
#include "readfile.h"
#include "translate.h"

static volatile int stop_requested; /* set by SIGTERM/SIGINT */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char usage_text[] =
	"usage: bpfnetd [options]\n"
	"  --services-file PATH   Services and EndpointSlices from a JSON List (kubectl get -o\n"
	"                         json), re-read on change; the Kubernetes-free mode\n"
	"  --kubeconfig PATH      Kubernetes API via a kubeconfig\n"
	"  --k8s-api-server URL   Kubernetes API server URL; wins over the kubeconfig's and the\n"
	"                         in-cluster one (a kube-proxy-free node cannot reach the\n"
	"                         kubernetes ClusterIP before bpfnet runs)\n"
	"                         Without --kubeconfig the credentials are the pod's\n"
	"                         service account, when its files exist\n"
	"  --serviceaccount-dir D in-cluster token and ca.crt (default\n"
	"                         " KUBE_SA_DIR_DEFAULT ")\n"
	"  --k8s-page-size N      objects per list page (default 500)\n"
	"  --k8s-watch-timeout S  timeoutSeconds of each watch; a watch silent for longer\n"
	"                         is treated as dead (default 300)\n"
	"  --k8s-insecure-http    accept a plain http:// API server (test setups: the token\n"
	"                         would travel in clear)\n"
	"  --state-dir DIR        files for the CNI plugin: node.json (default /run/bpfnet)\n"
	"  --pin-dir DIR          bpffs directory of the maps (default " BPFNET_PIN_DIR_DEFAULT ")\n"
	"  --cgroup PATH          cgroup v2 for socket LB (default: the cgroup2 mount; none = off)\n"
	"  --http-addr HOST:PORT  /healthz /readyz /metrics (default 127.0.0.1:9876)\n"
	"  --node-name NAME       this node (default: hostname)\n"
	"  --log-level LEVEL      debug, info, warn, error (default info)\n"
	"  --max-services N       capacity of the service map (default 65536)\n"
	"  --max-backends N       capacity of the backend map (default 65536)\n"
	"  --max-slots N          capacity of the slot map: backends x 2 for rewrites (262144)\n"
	"  --max-conntrack N      capacity of each conntrack table: TCP, and UDP with the\n"
	"                         other protocols (default 131072 and 65536)\n"
	"  --max-conntrack-other N  capacity of the UDP/other table alone\n"
	"  --conntrack-gc-interval S  sweep expired flows out of conntrack every S seconds\n"
	"                         (default 10)\n"
	"                         (sizes apply when the maps are created; pinned maps keep theirs)\n"
	"  --config FILE          the same keys in a JSON object (flags win)\n"
	"  --cleanup              remove everything bpfnet installed and exit\n"
	"  --help\n";

enum opt_id { O_SERVICES_FILE = 1, O_KUBECONFIG, O_API_SERVER, O_PIN_DIR, O_CGROUP, O_HTTP_ADDR,
	      O_NODE_NAME, O_LOG_LEVEL, O_CONFIG, O_CLEANUP, O_HELP, O_MAX_SERVICES,
	      O_MAX_BACKENDS, O_MAX_SLOTS, O_MAX_CONNTRACK, O_SA_DIR, O_STATE_DIR, O_PAGE_SIZE,
	      O_WATCH_TIMEOUT, O_MAX_CONNTRACK_OTHER, O_CT_GC_INTERVAL, O_K8S_INSECURE_HTTP };

static const struct option long_opts[] = {
	{ "services-file", required_argument, NULL, O_SERVICES_FILE },
	{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
	{ "k8s-api-server", required_argument, NULL, O_API_SERVER },
	{ "pin-dir", required_argument, NULL, O_PIN_DIR },
	{ "cgroup", required_argument, NULL, O_CGROUP },
	{ "http-addr", required_argument, NULL, O_HTTP_ADDR },
	{ "node-name", required_argument, NULL, O_NODE_NAME },
	{ "log-level", required_argument, NULL, O_LOG_LEVEL },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "max-services", required_argument, NULL, O_MAX_SERVICES },
	{ "max-backends", required_argument, NULL, O_MAX_BACKENDS },
	{ "max-slots", required_argument, NULL, O_MAX_SLOTS },
	{ "max-conntrack", required_argument, NULL, O_MAX_CONNTRACK },
	{ "max-conntrack-other", required_argument, NULL, O_MAX_CONNTRACK_OTHER },
	{ "conntrack-gc-interval", required_argument, NULL, O_CT_GC_INTERVAL },
	{ "serviceaccount-dir", required_argument, NULL, O_SA_DIR },
	{ "state-dir", required_argument, NULL, O_STATE_DIR },
	{ "k8s-page-size", required_argument, NULL, O_PAGE_SIZE },
	{ "k8s-watch-timeout", required_argument, NULL, O_WATCH_TIMEOUT },
	{ "k8s-insecure-http", no_argument, NULL, O_K8S_INSECURE_HTTP },
	{ "cleanup", no_argument, NULL, O_CLEANUP },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *option_name(int id)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

static int set_option(struct agent_config *c, int id, const char *val)
{
	char *dst = NULL;
	size_t len = 0;

	switch (id) {
	case O_SERVICES_FILE: dst = c->services_file; len = sizeof(c->services_file); break;
	case O_KUBECONFIG: dst = c->kubeconfig; len = sizeof(c->kubeconfig); break;
	case O_API_SERVER: dst = c->api_server; len = sizeof(c->api_server); break;
	case O_PIN_DIR: dst = c->pin_dir; len = sizeof(c->pin_dir); break;
	case O_CGROUP: dst = c->cgroup; len = sizeof(c->cgroup); break;
	case O_HTTP_ADDR: dst = c->http_addr; len = sizeof(c->http_addr); break;
	case O_NODE_NAME: dst = c->node_name; len = sizeof(c->node_name); break;
	case O_SA_DIR: dst = c->serviceaccount_dir; len = sizeof(c->serviceaccount_dir); break;
	case O_STATE_DIR: dst = c->state_dir; len = sizeof(c->state_dir); break;
	case O_PAGE_SIZE:
	case O_WATCH_TIMEOUT:
	case O_CT_GC_INTERVAL: {
		char *end;
		unsigned long n = strtoul(val, &end, 10);

		if (!*val || *end || n < 1 || n > 100000) {
			fprintf(stderr, "bpfnetd: --%s %s is not a number in 1..100000\n",
				option_name(id), val);
			return -EINVAL;
		}
		if (id == O_PAGE_SIZE)
			c->k8s_page_size = (unsigned)n;
		else if (id == O_WATCH_TIMEOUT)
			c->k8s_watch_timeout_s = (unsigned)n;
		else
			c->ct_gc_interval_s = (unsigned)n;
		return 0;
	}
	case O_MAX_SERVICES:
	case O_MAX_BACKENDS:
	case O_MAX_SLOTS:
	case O_MAX_CONNTRACK:
	case O_MAX_CONNTRACK_OTHER: {
		static const int map_of[] = { [O_MAX_SERVICES] = BPFNET_M_SVC,
					      [O_MAX_BACKENDS] = BPFNET_M_BACKEND,
					      [O_MAX_SLOTS] = BPFNET_M_SLOT,
					      [O_MAX_CONNTRACK] = BPFNET_M_CT_TCP,
					      [O_MAX_CONNTRACK_OTHER] = BPFNET_M_CT_ANY };
		char *end;
		unsigned long n = strtoul(val, &end, 10);

		if (!*val || *end || n < 16 || n > 16u << 20) {
			fprintf(stderr, "bpfnetd: map size %s is not a number in 16..16777216\n", val);
			return -EINVAL;
		}
		c->sizes.max_entries[map_of[id]] = (__u32)n;
		/* --max-conntrack sizes both tables unless the other one is
		 * given on its own */
		if (id == O_MAX_CONNTRACK_OTHER)
			c->ct_other_sized = true;
		if (id == O_MAX_CONNTRACK && !c->ct_other_sized)
			c->sizes.max_entries[BPFNET_M_CT_ANY] = (__u32)n;
		/* a service's revnat entry, name and address go with it */
		if (id == O_MAX_SERVICES) {
			c->sizes.max_entries[BPFNET_M_REVNAT] = (__u32)n;
			c->sizes.max_entries[BPFNET_M_SVC_NAME] = (__u32)n;
			c->sizes.max_entries[BPFNET_M_VIP] = (__u32)n;
		}
		return 0;
	}
	case O_LOG_LEVEL:
		if (log_parse_level(val, &c->log_level)) {
			fprintf(stderr, "bpfnetd: --log-level is debug, info, warn or error\n");
			return -EINVAL;
		}
		return 0;
	default:
		return -EINVAL;
	}
	if (strlen(val) >= len) {
		fprintf(stderr, "bpfnetd: value too long: %s\n", val);
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

/* Keys of --config are the long option names; flags given later override. */
static int load_config_file(struct agent_config *c, const char *path)
{
	size_t len;
	int err = 0;
	char *text = read_file(path, 1u << 20, &len, &err);
	cJSON *doc, *it;

	if (!text) {
		fprintf(stderr, "bpfnetd: --config %s: %s\n", path, strerror(-err));
		return err;
	}
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsObject(doc)) {
		fprintf(stderr, "bpfnetd: --config %s: not a JSON object\n", path);
		cJSON_Delete(doc);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, doc) {
		const struct option *o;

		for (o = long_opts; o->name; o++)
			if (!strcmp(o->name, it->string) && o->has_arg == required_argument &&
			    o->val != O_CONFIG)
				break;
		if (!o->name || !cJSON_IsString(it)) {
			fprintf(stderr, "bpfnetd: --config %s: unknown or non-string key \"%s\"\n", path,
				it->string);
			err = -EINVAL;
			break;
		}
		if ((err = set_option(c, o->val, it->valuestring)))
			break;
	}
	cJSON_Delete(doc);
	return err;
}

/* This node's name: --node-name, else NODE_NAME (the downward API's usual
 * variable), else the host name lowercased, as the kubelet registers it. */
static void default_node_name(struct agent_config *c)
{
	const char *env = getenv("NODE_NAME");

	if (c->node_name[0]) {
		c->node_name_from = "flag";
		return;
	}
	if (env && env[0] && strlen(env) < sizeof(c->node_name)) {
		strcpy(c->node_name, env);
		c->node_name_from = "NODE_NAME";
		return;
	}
	gethostname(c->node_name, sizeof(c->node_name) - 1);
	for (char *p = c->node_name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	c->node_name_from = "hostname";
}

static int parse_args(int argc, char **argv, struct agent_config *c, bool *cleanup)
{
	int opt, err;

	memset(c, 0, sizeof(*c));
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", BPFNET_PIN_DIR_DEFAULT);
	snprintf(c->http_addr, sizeof(c->http_addr), "127.0.0.1:9876");
	snprintf(c->state_dir, sizeof(c->state_dir), "/run/bpfnet");
	c->log_level = LOG_INFO;
	*cleanup = false;
	/* Two passes, so that flags override the config file whatever their
	 * order: the first loads every --config (in any spelling getopt takes:
	 * "--config F", "--config=F", an abbreviation), the second the rest. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1)
		if (opt == O_CONFIG && (err = load_config_file(c, optarg)))
			return err;
	opterr = 1;
	optind = 0; /* glibc: start over */
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (opt) {
		case O_CONFIG:
			break;
		case O_CLEANUP:
			*cleanup = true;
			break;
		case O_K8S_INSECURE_HTTP:
			c->k8s_insecure_http = true;
			break;
		case O_HELP:
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case '?':
			fputs(usage_text, stderr);
			return -EINVAL;
		default:
			if ((err = set_option(c, opt, optarg)))
				return err;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bpfnetd: unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	default_node_name(c);
	return 0;
}

static int detach_endpoint_tc(const void *key, const void *val, void *arg)
{
	const struct bpfnet_endpoint *ep = val;

	(void)key;
	(void)arg;
	bpfnet_tc_detach((int)ep->ifindex, true);
	return 0;
}

/* Everything bpfnet installed: socket LB links, tc filters of registered
 * pods (in this netns), pinned programs and maps. */
static int cleanup(const struct agent_config *c)
{
	struct bpfnet_maps m;
	char path[4200];
	int err = 0;

	bpfnet_sock_detach(c->pin_dir);
	if (!bpfnet_maps_open(&m, c->pin_dir, NULL, 0)) {
		bpfnet_map_iterate(&m, BPFNET_M_ENDPOINT, detach_endpoint_tc, NULL);
		bpfnet_maps_close(&m);
	}
	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, BPFNET_PROG_FROM_CONTAINER);
	if (unlink(path) && errno != ENOENT)
		err = -errno;
	if (bpfnet_maps_unpin(c->pin_dir))
		err = -EIO;
	if (rmdir(c->pin_dir) && errno != ENOENT) {
		log_msg(LOG_WARN, "pin dir not removed", "dir=%s error=\"%s\"", c->pin_dir,
			strerror(errno));
	}
	log_msg(err ? LOG_ERROR : LOG_INFO, "cleanup", "pin_dir=%s ok=%d", c->pin_dir, !err);
	return err;
}

/* The initial cgroup namespace's inode (include/linux/proc_ns.h). */
#define CGROUP_NS_INIT_INO 0xEFFFFFFBu

/*
 * Inside a cgroup namespace (a pod's, typically) the cgroup2 mount is the
 * namespace's own cgroup: socket LB attached there would cover the agent
 * alone while looking fine. The default is only safe in the initial one;
 * elsewhere --cgroup must name the host's root (e.g. a hostPath mount).
 */
static int check_cgroup_default(const struct agent_config *c)
{
	struct stat st;

	if (c->cgroup[0] || stat("/proc/self/ns/cgroup", &st) || st.st_ino == CGROUP_NS_INIT_INO)
		return 0;
	fprintf(stderr, "bpfnetd: running in a cgroup namespace: its cgroup2 mount is not the "
			"node's root cgroup, and socket LB there would cover this container only.\n"
			"  Mount the host's cgroup2 root (e.g. hostPath /sys/fs/cgroup) and pass it "
			"with --cgroup PATH, or --cgroup none for no socket LB.\n");
	return -EPERM;
}

int main(int argc, char **argv)
{
	struct agent a = { .http.listen_fd = -1, .stop = &stop_requested };
	bool do_cleanup, use_api;
	char msg[256];
	int err;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &a.cfg, &do_cleanup))
		return 2;
	log_set_level(a.cfg.log_level);
	libbpf_set_print(NULL);
	if (do_cleanup)
		return cleanup(&a.cfg) ? 1 : 0;
	if (check_cgroup_default(&a.cfg))
		return 2;
	use_api = a.cfg.kubeconfig[0] || a.cfg.api_server[0] || getenv("KUBERNETES_SERVICE_HOST");
	if (a.cfg.services_file[0] && use_api) {
		fprintf(stderr, "bpfnetd: --services-file and the Kubernetes API exclude each other\n");
		return 2;
	}
	if (!a.cfg.services_file[0] && !use_api) {
		fprintf(stderr, "bpfnetd: a source is needed: --kubeconfig, --k8s-api-server, "
				"in-cluster, or --services-file\n%s", usage_text);
		return 2;
	}

	err = bpfnet_maps_open(&a.maps, a.cfg.pin_dir, &a.cfg.sizes, BPFNET_MAPS_CREATE);
	if (err) {
		log_msg(LOG_ERROR, "maps", "pin_dir=%s error=\"%s\"", a.cfg.pin_dir,
			bpfnet_maps_strerror(&a.maps, err, msg, sizeof(msg)));
		return 1;
	}
	{
		struct bpfnet_migration mig;

		/* before adoption: what it adopts may come from an old layout */
		err = bpfnet_maps_migrate(&a.maps, false, &mig);
		if (err)
			log_msg(LOG_WARN, "maps of an older layout not copied", "error=\"%s\"",
				strerror(-err));
		else if (mig.maps_found)
			log_msg(LOG_INFO, "maps of an older layout copied", "maps=%u entries=%lu "
				"skipped=%lu", mig.maps_found, mig.copied, mig.skipped);
	}
	if (store_init(&a.store) || htab_init(&a.file.digests, 1024) ||
	    reconciler_init(&a.rec, &a.maps)) {
		log_msg(LOG_ERROR, "init failed", "%s", "");
		return 1;
	}
	{
		struct bpfnet_features feat;

		bpfnet_probe_features(&feat);
		err = ct_worker_start(&a.ct, &a.maps,
				      a.cfg.ct_gc_interval_s ? a.cfg.ct_gc_interval_s : 10,
				      a.cfg.state_dir, feat.sock_destroy);
	}
	if (err) {
		log_msg(LOG_ERROR, "conntrack worker", "error=\"%s\"", strerror(-err));
		return 1;
	}
	if (datapath_load_start(&a))
		return 1;
	if (use_api && kube_source_start(&a)) {
		datapath_load_poll(&a, true);
		return 1;
	}
	err = http_server_open(&a.http, a.cfg.http_addr);
	if (err) {
		log_msg(LOG_ERROR, "http listen failed", "addr=%s error=\"%s\"", a.cfg.http_addr,
			strerror(-err));
		datapath_load_poll(&a, true);
		return 1;
	}
	log_msg(LOG_INFO, "started", "pin_dir=%s adopted_frontends=%zu http=%s node=%s node_from=%s",
		a.cfg.pin_dir, a.rec.adopted, a.cfg.http_addr, a.cfg.node_name,
		a.cfg.node_name_from);

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	while (!stop_requested) {
		struct pollfd fds[HTTP_CONNS_MAX + 1];
		size_t nfds = http_server_pollfds(&a.http, fds, sizeof(fds) / sizeof(fds[0]));

		if (!a.datapath_loaded) {
			/* once synced, nothing else stands between us and ready */
			err = datapath_load_poll(&a, a.synced);
			if (err < 0)
				return 1; /* logged by the loader */
			a.datapath_loaded = err == 1;
			agent_check_ready(&a);
		}
		/* ids whose flush finished become reusable */
		if (a.synced)
			agent_flush_freed(&a);

		if (use_api) {
			kube_source_step(&a, fds, nfds, 500);
		} else {
			file_source_poll(&a);
			if (poll(fds, nfds, 200) < 0)
				for (size_t i = 0; i < nfds; i++)
					fds[i].revents = 0;
		}
		http_server_step(&a, &a.http, fds, nfds);
	}
	if (datapath_load_poll(&a, true) < 0)
		return 1;
	/* the datapath stays: maps, programs and links are pinned */
	log_msg(LOG_INFO, "stopping", "datapath=kept frontends=%zu", reconciler_frontends(&a.rec));
	http_server_close(&a.http);
	ct_worker_stop(&a.ct);
	reconciler_free(&a.rec);
	store_free(&a.store);
	file_source_free(&a.file);
	kube_source_free(&a.kube);
	bpfnet_maps_close(&a.maps);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's reconciler against real maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile.h"
#include "testutil.h"

/* A one-frontend set: VIP:80/tcp -> BACKEND(b) for b in @bs (0-terminated). */
static void one_frontend(struct frontend_set *set, uint32_t vip, const int *bs)
{
	struct frontend *fe = calloc(1, sizeof(*fe));
	size_t n = 0;

	while (bs[n])
		n++;
	fe->key = svc_key(vip, 80, IPPROTO_TCP);
	fe->flags = BPFNET_SVC_F_CLUSTER_IP;
	snprintf(fe->name, sizeof(fe->name), "default/s%u:http", vip & 0xff);
	fe->backends = calloc(n ? n : 1, sizeof(*fe->backends));
	for (size_t i = 0; i < n; i++)
		fe->backends[i] = (struct bpfnet_backend){ .addr = htonl(BACKEND(bs[i])),
							   .port = htons(8080),
							   .proto = IPPROTO_TCP };
	fe->n_backends = n;
	fe->n_slots = n;
	set->v = fe;
	set->n = 1;
}

static __u32 backend_id_of(struct fixture *f, int b)
{
	struct bpfnet_svc_key k = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_svc_value v;
	__u32 ids[16];
	int n = bpfnet_service_get(&f->maps, &k, &v, ids, 16);

	for (int i = 0; i < n; i++) {
		struct bpfnet_backend be;

		if (!bpfnet_backend_get(&f->maps, ids[i], &be) &&
		    be.addr == htonl(BACKEND(b)))
			return ids[i];
	}
	return 0;
}

TEST(reconcile_writes_only_differences)
{
	struct reconciler r;
	struct frontend_set set;
	const int b12[] = { 1, 2, 0 }, b123[] = { 1, 2, 3, 0 };

	ASSERT_OK(reconciler_init(&r, &f->maps), "init");
	one_frontend(&set, VIP, b12);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "first");
	ASSERT_EQ(r.stats.service_writes, 1, "one service write");
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "same again");
	ASSERT_EQ(r.stats.service_writes, 1, "nothing rewritten");
	frontend_set_free(&set);

	one_frontend(&set, VIP, b123);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "scale up");
	ASSERT_EQ(r.stats.service_writes, 2, "one more write");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 3, "3 backends");
	ASSERT_EQ(map_entries(f, BPFNET_M_SLOT), 3, "3 slots, old generation gone");
	char name[BPFNET_SVC_NAME_LEN];
	struct bpfnet_svc_value v;
	struct bpfnet_svc_key k = svc_key(VIP, 80, IPPROTO_TCP);
	__u32 ids[4];
	ASSERT_EQ(bpfnet_service_get(&f->maps, &k, &v, ids, 4), 3, "3 live slots");
	bpfnet_service_name_get(&f->maps, v.id, name, sizeof(name));
	ASSERT_TRUE(!strcmp(name, "default/s10:http"), "name written");
	frontend_set_free(&set);

	set.n = 0;
	set.v = NULL;
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "service gone");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC), 0, "frontend removed");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 0, "backends removed after it");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC_NAME), 0, "name removed");
	reconciler_free(&r);
}

/* A removed backend's id must not serve a new backend while conntrack
 * entries still name it: they would send old flows to the new one. */
TEST(reconcile_backend_id_reuse_waits_for_conntrack_flush)
{
	struct reconciler r;
	struct frontend_set set;
	const int b12[] = { 1, 2, 0 }, b1[] = { 1, 0 }, b13[] = { 1, 3, 0 };
	struct bpfnet_ct_key ck = { .saddr = htonl(CLIENT), .daddr = htonl(VIP), .sport = htons(1234),
				    .dport = htons(80), .proto = IPPROTO_UDP };
	struct bpfnet_ct_key tcp = ck;
	struct bpfnet_ct_value cv = { .last_seen_ns = ct_clock_ns() };
	__u32 id2, id3;

	ASSERT_OK(reconciler_init(&r, &f->maps), "init");
	one_frontend(&set, VIP, b12);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "write");
	frontend_set_free(&set);
	id2 = backend_id_of(f, 2);
	cv.backend_id = id2;
	cv.svc_id = 1;
	cv.backend_addr = htonl(BACKEND(2));
	cv.backend_port = htons(8080);
	ASSERT_OK(bpfnet_ct_update(&f->maps, &ck, &cv), "a UDP flow to 2");
	/* a TCP connection to 2 names it by address and stays with it */
	tcp.proto = IPPROTO_TCP;
	ASSERT_OK(bpfnet_ct_update(&f->maps, &tcp, &cv), "TCP flow to 2");

	one_frontend(&set, VIP, b1);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "remove backend 2");
	frontend_set_free(&set);
	one_frontend(&set, VIP, b13);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "add backend 3 before the flush");
	frontend_set_free(&set);
	id3 = backend_id_of(f, 3);
	ASSERT_TRUE(id3 != id2, "id of 2 not reused before the flush");

	ASSERT_OK(reconcile_flush_freed(&r), "flush");
	ASSERT_EQ(bpfnet_ct_lookup(&f->maps, &ck, &cv), -ENOENT,
		  "the UDP flow naming the removed backend is gone");
	ASSERT_OK(bpfnet_ct_lookup(&f->maps, &tcp, &cv), "the TCP connection stays with its backend");
	ASSERT_EQ(r.stats.ct_flushed, 1, "flushed count");
	/* now the id may serve again */
	set.n = 0;
	set.v = NULL;
	reconcile_service(&r, "default/s", &set);
	reconcile_flush_freed(&r);
	one_frontend(&set, VIP, b12);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "reuse");
	frontend_set_free(&set);
	reconciler_free(&r);
}

/* A new agent adopts the pinned state: identical desired state means no
 * write at all; what no service claims is swept. */
TEST(reconcile_restart_adopts_and_sweeps)
{
	struct reconciler r;
	struct frontend_set a, b;
	const int b12[] = { 1, 2, 0 }, b3[] = { 3, 0 };
	__u32 id1;

	ASSERT_OK(reconciler_init(&r, &f->maps), "first agent");
	one_frontend(&a, VIP, b12);
	one_frontend(&b, VIP + 1, b3);
	ASSERT_OK(reconcile_service(&r, "default/a", &a), "a");
	ASSERT_OK(reconcile_service(&r, "default/b", &b), "b");
	id1 = backend_id_of(f, 1);
	reconciler_free(&r); /* the agent exits; maps stay */
	/* ... or died between a service entry and its address count */
	__be32 vip_a = htonl(VIP);
	ASSERT_OK(bpf_map_delete_elem(f->maps.fd[BPFNET_M_VIP], &vip_a), "count lost");

	maps_reopen(&f->maps);
	ASSERT_OK(reconciler_init(&r, &f->maps), "second agent");
	ASSERT_EQ(r.adopted, 2, "both frontends adopted");
	ASSERT_EQ(map_entries(f, BPFNET_M_VIP), 2, "addresses recounted");
	ASSERT_OK(reconcile_service(&r, "default/a", &a), "a again");
	ASSERT_EQ(r.stats.service_writes, 0, "unchanged: nothing written");
	ASSERT_EQ(backend_id_of(f, 1), id1, "ids kept");
	/* b was deleted while no agent ran */
	ASSERT_OK(reconcile_sweep_adopted(&r), "sweep");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC), 1, "b swept");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 2, "b's backend swept");
	ASSERT_EQ(map_entries(f, BPFNET_M_SVC_NAME), 1, "b's name swept");
	ASSERT_EQ(map_entries(f, BPFNET_M_VIP), 1, "b's address uncounted");
	frontend_set_free(&a);
	frontend_set_free(&b);
	reconciler_free(&r);
}

/* Pins left with two ids for one backend, one service's slot naming each:
 * whichever id adoption keeps, the service naming the other is rewritten
 * and the sweep deletes the other, so no slot names a missing backend. */
TEST(reconcile_restart_sweeps_duplicate_backend_ids)
{
	struct bpfnet_svc_key ka = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_svc_key kb = svc_key(VIP + 1, 80, IPPROTO_TCP);
	struct bpfnet_slot_key sk = {};
	struct bpfnet_svc_value v;
	struct bpfnet_backend be;
	struct reconciler r;
	struct frontend_set a, b;
	const int b1[] = { 1, 0 };
	__u32 id1, dup = 4000, ids[4];

	ASSERT_OK(reconciler_init(&r, &f->maps), "first agent");
	one_frontend(&a, VIP, b1);
	one_frontend(&b, VIP + 1, b1);
	ASSERT_OK(reconcile_service(&r, "default/a", &a), "a");
	ASSERT_OK(reconcile_service(&r, "default/b", &b), "b");
	reconciler_free(&r);
	id1 = backend_id_of(f, 1);
	ASSERT_OK(bpfnet_backend_get(&f->maps, id1, &be), "backend");
	/* a second id for the same backend, and b's slot pointing at it */
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_BACKEND], &dup, &be, BPF_ANY), "dup");
	ASSERT_OK(bpf_map_lookup_elem(f->maps.fd[BPFNET_M_SVC], &kb, &v), "svc b");
	sk.svc_id = v.id;
	sk.gen = v.slot_gen;
	ASSERT_OK(bpf_map_update_elem(f->maps.fd[BPFNET_M_SLOT], &sk, &dup, BPF_ANY), "slot");

	maps_reopen(&f->maps);
	ASSERT_OK(reconciler_init(&r, &f->maps), "second agent");
	ASSERT_OK(reconcile_service(&r, "default/a", &a), "a, same desired state");
	ASSERT_OK(reconcile_service(&r, "default/b", &b), "b, same desired state");
	ASSERT_EQ(r.stats.service_writes, 1, "the one naming the dropped id rewritten");
	ASSERT_OK(reconcile_sweep_adopted(&r), "sweep");
	ASSERT_EQ(map_entries(f, BPFNET_M_BACKEND), 1, "one id left");
	ASSERT_EQ(bpfnet_service_get(&f->maps, &ka, &v, ids, 4), 1, "a: one slot");
	ASSERT_OK(bpfnet_backend_get(&f->maps, ids[0], &be), "a's slot names a live backend");
	ASSERT_EQ(bpfnet_service_get(&f->maps, &kb, &v, ids + 1, 3), 1, "b: one slot");
	ASSERT_EQ(ids[0], ids[1], "both on the same id");
	frontend_set_free(&a);
	frontend_set_free(&b);
	reconciler_free(&r);
}

TEST(reconcile_map_full_is_reported_and_others_intact)
{
	struct bpfnet_maps small;
	struct reconciler r;
	const int b1[] = { 1, 0 };
	__u32 n = 0;

	small_maps_open(f, &small, "small", BPFNET_M_SVC, 2);
	ASSERT_OK(reconciler_init(&r, &small), "init");
	for (int i = 0; i < 3; i++) {
		struct frontend_set s;
		char owner[32];

		one_frontend(&s, VIP + (uint32_t)i, b1);
		snprintf(owner, sizeof(owner), "default/s%d", i);
		int err = reconcile_service(&r, owner, &s);

		frontend_set_free(&s);
		if (i < 2)
			ASSERT_OK(err, "fits");
		else
			ASSERT_EQ(err, -ENOSPC, "third does not fit");
	}
	ASSERT_EQ(r.stats.map_full, 1, "map-full counted");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_SVC, &n), "count");
	ASSERT_EQ(n, 2, "the two services stay");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_SLOT, &n), "count");
	ASSERT_EQ(n, 2, "no stray slots");
	ASSERT_EQ(reconciler_frontends(&r), 2, "the failed one is not recorded");
	reconciler_free(&r);
	bpfnet_maps_close(&small);
}

/* Backend ids index an array of fixed capacity: when none is left the
 * write fails as map-full, a freed id serves again after the conntrack
 * flush, and ids a previous agent freed are found again on restart. */
TEST(reconcile_backend_ids_stay_within_the_array)
{
	struct frontend_set a, b, c, none = {};
	const int b123[] = { 1, 2, 3, 0 }, b45[] = { 4, 5, 0 }, b4[] = { 4, 0 },
		  b678[] = { 6, 7, 8, 0 };
	struct bpfnet_svc_key kb = svc_key(VIP + 1, 80, IPPROTO_TCP);
	struct bpfnet_svc_value v;
	struct bpfnet_maps small;
	struct reconciler r;
	char msg[128];
	__u32 n, ids[4];

	small_maps_open(f, &small, "ids", BPFNET_M_BACKEND, 4);
	ASSERT_EQ(small.max_entries[BPFNET_M_BACKEND], 4, "capacity as configured");
	ASSERT_OK(reconciler_init(&r, &small), "init");
	one_frontend(&a, VIP, b123);
	one_frontend(&b, VIP + 1, b45);
	ASSERT_OK(reconcile_service(&r, "default/a", &a), "a: ids 1-3");
	ASSERT_EQ(reconcile_service(&r, "default/b", &b), -ENOSPC, "b needs two, one is left");
	ASSERT_EQ(r.stats.map_full, 1, "counted as map full");
	ASSERT_TRUE(strstr(bpfnet_maps_strerror(&small, -ENOSPC, msg, sizeof(msg)), "backend_v2"),
		    "the backend map is named");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_BACKEND, &n), "count");
	ASSERT_EQ(n, 3, "a's backends only");

	frontend_set_free(&b);
	one_frontend(&b, VIP + 1, b4);
	ASSERT_OK(reconcile_service(&r, "default/b", &b), "b with one backend takes id 4");
	ASSERT_EQ(bpfnet_service_get(&small, &kb, &v, ids, 4), 1, "b served");
	ASSERT_EQ(ids[0], 4, "the last id");

	/* a goes and the agent restarts before the conntrack flush: the new
	 * agent finds ids 1-3 free below id 4, and reuses them after a flush */
	ASSERT_OK(reconcile_service(&r, "default/a", &none), "a removed");
	reconciler_free(&r);
	maps_reopen(&small);
	ASSERT_OK(reconciler_init(&r, &small), "restart");
	ASSERT_OK(reconcile_service(&r, "default/b", &b), "b, same desired state");
	ASSERT_OK(reconcile_sweep_adopted(&r), "sweep");
	ASSERT_OK(reconcile_flush_freed(&r), "flush");
	one_frontend(&c, VIP + 2, b678);
	ASSERT_OK(reconcile_service(&r, "default/c", &c), "c takes the three free ids");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_BACKEND, &n), "count");
	ASSERT_EQ(n, 4, "the array is full, nothing stray");
	frontend_set_free(&a);
	frontend_set_free(&b);
	frontend_set_free(&c);
	reconciler_free(&r);
	bpfnet_maps_close(&small);
}

/* Bulk: new frontends are staged and written at a flush; one that does
 * not fit is forgotten as a direct write would be (its own backend gone),
 * and written by a later sync once it fits; a staged one that changes is
 * flushed first, then rewritten. */
TEST(reconcile_bulk_stages_new_frontends)
{
	struct bpfnet_maps small;
	struct reconciler r;
	struct frontend_set s[4], changed, none = {};
	struct bpfnet_svc_value v;
	const int b1[] = { 1, 0 }, b2[] = { 2, 0 }, b3[] = { 3, 0 }, b4[] = { 4, 0 },
		  b12[] = { 1, 2, 0 };
	const int *bs[4] = { b1, b2, b3, b4 };
	__u32 n = 0, ids[4];

	small_maps_open(f, &small, "small", BPFNET_M_SVC, 3);
	ASSERT_OK(reconciler_init(&r, &small), "init");

	reconcile_bulk_begin(&r);
	for (int i = 0; i < 4; i++) {
		char owner[32];

		one_frontend(&s[i], VIP + (uint32_t)i, bs[i]);
		snprintf(owner, sizeof(owner), "default/s%d", i);
		ASSERT_OK(reconcile_service(&r, owner, &s[i]), "staged");
	}
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_SVC, &n), "count");
	ASSERT_EQ(n, 0, "nothing written yet");
	ASSERT_EQ(reconciler_frontends(&r), 4, "all four recorded");

	/* s1 changes while staged: the flush writes s0-s2, s3 does not fit */
	one_frontend(&changed, VIP + 1, b12);
	ASSERT_OK(reconcile_service(&r, "default/s1", &changed), "s1 changed");
	ASSERT_EQ(r.stats.map_full, 1, "s3 counted as map-full");
	ASSERT_EQ(reconciler_frontends(&r), 3, "s3 forgotten");
	struct bpfnet_svc_key k1 = svc_key(VIP + 1, 80, IPPROTO_TCP);
	ASSERT_EQ(bpfnet_service_get(&small, &k1, &v, ids, 4), 2, "s1 has its new two backends");
	ASSERT_EQ(v.slot_gen, 1, "s1 written twice");

	/* s2 goes, s3 is staged again and now fits */
	ASSERT_OK(reconcile_service(&r, "default/s2", &none), "s2 removed");
	ASSERT_OK(reconcile_service(&r, "default/s3", &s[3]), "s3 again");
	reconcile_bulk_end(&r);
	ASSERT_EQ(r.stats.map_full, 1, "no new failure");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_SVC, &n), "count");
	ASSERT_EQ(n, 3, "s0, s1, s3");
	struct bpfnet_svc_key k3 = svc_key(VIP + 3, 80, IPPROTO_TCP);
	ASSERT_EQ(bpfnet_service_get(&small, &k3, &v, ids, 4), 1, "s3 served");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_SLOT, &n), "count");
	ASSERT_EQ(n, 4, "slots of s0, s1 (2) and s3 only");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_BACKEND, &n), "count");
	ASSERT_EQ(n, 3, "backends 1, 2, 4 (3 deleted with s2)");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_REVNAT, &n), "count");
	ASSERT_EQ(n, 3, "no stray reverse NAT");
	ASSERT_OK(bpfnet_map_count(&small, BPFNET_M_SVC_NAME, &n), "count");
	ASSERT_EQ(n, 3, "no stray names");
	for (int i = 0; i < 4; i++)
		frontend_set_free(&s[i]);
	frontend_set_free(&changed);
	reconciler_free(&r);
	bpfnet_maps_close(&small);
}

TEST(reconcile_frontend_claimed_twice_keeps_the_first)
{
	struct reconciler r;
	struct frontend_set a, b;
	const int b1[] = { 1, 0 }, b2[] = { 2, 0 };

	ASSERT_OK(reconciler_init(&r, &f->maps), "init");
	one_frontend(&a, VIP, b1);
	one_frontend(&b, VIP, b2);
	ASSERT_OK(reconcile_service(&r, "default/a", &a), "a");
	ASSERT_EQ(reconcile_service(&r, "default/b", &b), -EEXIST, "b wants the same VIP:port");
	ASSERT_EQ(r.stats.conflicts, 1, "conflict counted");
	ASSERT_TRUE(backend_id_of(f, 1) != 0 && backend_id_of(f, 2) == 0, "a still served");
	ASSERT_TRUE(htab_get_str(&r.conflicted, "default/b"), "b remembered as refused");
	ASSERT_TRUE(!r.frontend_freed, "nothing freed yet");

	/* a goes: the refused one can be written now, and is forgotten */
	struct frontend_set none = {};
	ASSERT_OK(reconcile_service(&r, "default/a", &none), "a removed");
	ASSERT_TRUE(r.frontend_freed, "a frontend was freed");
	ASSERT_OK(reconcile_service(&r, "default/b", &b), "b takes the VIP:port");
	ASSERT_TRUE(backend_id_of(f, 2) != 0, "b served");
	ASSERT_EQ(r.conflicted.count, 0, "no refused service left");
	frontend_set_free(&a);
	frontend_set_free(&b);
	reconciler_free(&r);
}

/* A terminating endpoint leaves the slots but keeps its backend entry and
 * id, so flows it serves finish; only its removal deletes it. */
TEST(reconcile_terminating_backend_is_retained_outside_the_slots)
{
	struct reconciler r;
	struct frontend_set set;
	const int b12[] = { 1, 2, 0 };
	struct bpfnet_svc_key k = svc_key(VIP, 80, IPPROTO_TCP);
	struct bpfnet_svc_value v;
	__u32 ids[4], id2;
	struct bpfnet_backend be;

	ASSERT_OK(reconciler_init(&r, &f->maps), "init");
	one_frontend(&set, VIP, b12);
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "two ready");
	id2 = backend_id_of(f, 2);
	/* backend 2 starts terminating: retained, out of the slots */
	set.v[0].backends[1].state = BPFNET_BACKEND_TERMINATING;
	set.v[0].n_slots = 1;
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "2 terminating");
	ASSERT_EQ(bpfnet_service_get(&f->maps, &k, &v, ids, 4), 1, "one slot");
	ASSERT_OK(bpfnet_backend_get(&f->maps, id2, &be), "2 still there");
	ASSERT_EQ(be.state, BPFNET_BACKEND_TERMINATING, "marked terminating");
	/* an agent restart keeps it too */
	reconciler_free(&r);
	maps_reopen(&f->maps);
	ASSERT_OK(reconciler_init(&r, &f->maps), "restart");
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "same state");
	ASSERT_OK(reconcile_sweep_adopted(&r), "sweep");
	ASSERT_OK(bpfnet_backend_get(&f->maps, id2, &be),
		  "retained backend survives a restart with its id");
	/* gone from the slices: deleted */
	set.v[0].n_backends = 1;
	ASSERT_OK(reconcile_service(&r, "default/s", &set), "2 gone");
	ASSERT_EQ(bpfnet_backend_get(&f->maps, id2, &be), -ENOENT,
		  "deleted once gone");
	frontend_set_free(&set);
	reconciler_free(&r);
}

/* The backend index: states never move while the index grows; deletion
 * (backward shift) keeps every other state findable; slots are reused. */
TEST(backend_table_add_find_delete)
{
	enum { N = 5000 };
	static struct be_state *kept[N];
	struct backend_table t = {};
	size_t seen = 0;

	(void)f;
	for (int i = 0; i < N; i++) {
		/* one address, many ports, and many addresses: both collide in parts */
		struct bpfnet_backend b = { .addr = htonl(BACKEND(i % 50)),
					    .port = htons((uint16_t)(8000 + i / 50)),
					    .proto = IPPROTO_TCP };

		kept[i] = backend_table_add(&t, &b);
		ASSERT_TRUE(kept[i] != NULL, "add");
		kept[i]->id = (__u32)i + 1;
	}
	ASSERT_EQ(t.count, N, "count");
	for (int i = 0; i < N; i++)
		ASSERT_TRUE(backend_table_get(&t, &kept[i]->be) == kept[i], "same state after growth");
	for (int i = 0; i < N; i += 3)
		backend_table_del(&t, kept[i]);
	for (int i = 0; i < N; i++) {
		struct bpfnet_backend b = { .addr = htonl(BACKEND(i % 50)),
					    .port = htons((uint16_t)(8000 + i / 50)),
					    .proto = IPPROTO_TCP };
		struct be_state *s = backend_table_get(&t, &b);

		if (i % 3 == 0)
			ASSERT_TRUE(s == NULL, "deleted one gone");
		else
			ASSERT_TRUE(s == kept[i] && s->id == (__u32)i + 1, "others intact");
	}
	backend_table_for_each(&t, s) {
		ASSERT_TRUE(s->id % 3 != 1, "only live states visited");
		seen++;
	}
	ASSERT_EQ(seen, t.count, "iteration sees each once");
	/* the UDP twin of a TCP backend is another backend */
	struct bpfnet_backend udp = kept[1]->be;
	udp.proto = IPPROTO_UDP;
	ASSERT_TRUE(backend_table_get(&t, &udp) == NULL, "protocol is part of the identity");
	struct be_state *again = backend_table_add(&t, &udp);
	ASSERT_TRUE(again != NULL && again->refs == 0 && again->id == 0, "a fresh zeroed state");
	ASSERT_TRUE(backend_table_get(&t, &kept[1]->be) == kept[1], "TCP one still there");
	backend_table_free(&t);
}
